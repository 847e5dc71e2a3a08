#include "count.h"
#include <ctype.h>

void count_buffer(const char *buf, size_t len, int *in_word, struct counts *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        out->bytes++;
        if (c == '\n')
            out->lines++;
        if (isspace(c)) {
            *in_word = 0;
        } else if (!*in_word) {
            *in_word = 1;
            out->words++;
        }
    }
}
