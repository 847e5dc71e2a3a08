#include <stdio.h>
#include "count.h"

int main(void)
{
    char buf[65536];
    struct counts c = {0, 0, 0};
    int in_word = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        count_buffer(buf, n, &in_word, &c);
    printf("%zu %zu %zu\n", c.lines, c.words, c.bytes);
    return ferror(stdin) ? 1 : 0;
}
