/* replay.c: main() for the regression mode of a fuzz target. Feeds every file of
 * test/fuzz/corpus/<target>/ and test/fuzz/regressions/<target>/ to
 * LLVMFuzzerTestOneInput, one TAP line each, so a fixed finding stays fixed in make check.
 * <target> is the program name without "replay_"; the tree is $abs_top_srcdir (or argv[1]). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "../unit/tap.h"

#define REPLAY_MAX_INPUT (1u << 20)
#define REPLAY_TIMEOUT_S 60 /* per input: a hang (a loop in a hash chain) fails the test */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;

    if (f == NULL)
        return NULL;
    buf = malloc(REPLAY_MAX_INPUT);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, REPLAY_MAX_INPUT, f);
    fclose(f);
    return buf;
}

/* Replays every regular file in dir, sorted by name. Returns how many, -1 if dir is
 * missing. */
static int replay_dir(const char *dir, const char *what)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
            continue;
        if (n == cap) {
            char **grown;

            cap = cap ? 2 * cap : 64;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        names[n] = strdup(e->d_name);
        if (names[n] != NULL)
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        size_t len = 0;
        uint8_t *buf;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        buf = slurp(path, &len);
        if (!tap_ok(buf != NULL, "%s %s: readable", what, names[i])) {
            free(names[i]);
            continue;
        }
        /* A crash, a sanitizer report or a hang ends the program: the TAP plan is then
         * missing and the test fails, naming the last input started. */
        printf("# %s %s (%zu bytes)\n", what, names[i], len);
        fflush(stdout);
        alarm(REPLAY_TIMEOUT_S); /* SIGALRM's default action ends the program */
        LLVMFuzzerTestOneInput(buf, len);
        alarm(0);
        tap_ok(1, "%s %s: handled", what, names[i]);
        free(buf);
        free(names[i]);
    }
    free(names);
    return (int)n;
}

int main(int argc, char **argv)
{
    const char *top = argc > 1 ? argv[1] : getenv("abs_top_srcdir");
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *target = strncmp(prog, "replay_", 7) == 0 ? prog + 7 : prog;
    char dir[4096];
    int seeds, regs;

    if (top == NULL)
        top = ".";
    snprintf(dir, sizeof(dir), "%s/test/fuzz/corpus/%s", top, target);
    seeds = replay_dir(dir, "seed");
    tap_ok(seeds > 0, "target %s has a seed corpus in %s", target, dir);
    snprintf(dir, sizeof(dir), "%s/test/fuzz/regressions/%s", top, target);
    regs = replay_dir(dir, "regression");
    if (regs >= 0)
        printf("# %d regression input(s)\n", regs);
    return tap_done();
}
