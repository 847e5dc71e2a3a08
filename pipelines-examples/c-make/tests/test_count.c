#include <stdio.h>
#include <string.h>
#include "count.h"

static int failures;

static void check(const char *text, size_t lines, size_t words)
{
    struct counts c = {0, 0, 0};
    int in_word = 0;
    count_buffer(text, strlen(text), &in_word, &c);
    if (c.lines != lines || c.words != words || c.bytes != strlen(text)) {
        printf("FAIL %-20s got %zu lines %zu words, want %zu %zu\n", text, c.lines, c.words, lines, words);
        failures++;
    }
}

int main(void)
{
    check("", 0, 0);
    check("one", 0, 1);
    check("one two\n", 1, 2);
    check("  spaced   out  \n\n", 2, 2);
    check("a\tb\nc d e\n", 2, 5);
    printf("%s\n", failures ? "tests failed" : "all tests passed");
    return failures != 0;
}
