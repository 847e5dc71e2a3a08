#ifndef COUNT_H
#define COUNT_H
#include <stddef.h>

struct counts {
    size_t lines;
    size_t words;
    size_t bytes;
};

void count_buffer(const char *buf, size_t len, int *in_word, struct counts *out);

#endif
