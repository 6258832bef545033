/* fuzz.h: the libFuzzer entry point every target in test/fuzz/ defines. The same target
 * source builds two ways: with clang -fsanitize=fuzzer (make fuzz, build.sh) and with the
 * normal compiler plus replay.c, which feeds it the committed corpus in make check. */
#ifndef VSOCK_FUZZ_H
#define VSOCK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A cursor over the fuzz input: targets that play a hostile peer draw their decisions
 * from it; past the end everything reads as 0, so every input is a complete script. */
struct fuzz_in {
    const uint8_t *p;
    size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
    uint16_t lo = fuzz_u8(in);

    return (uint16_t)(lo | (uint16_t)(fuzz_u8(in) << 8));
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
    uint32_t lo = fuzz_u16(in);

    return lo | ((uint32_t)fuzz_u16(in) << 16);
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
    uint64_t lo = fuzz_u32(in);

    return lo | ((uint64_t)fuzz_u32(in) << 32);
}

/* Up to n bytes (fewer at the end of the input); returns how many. */
static inline size_t fuzz_bytes(struct fuzz_in *in, void *dst, size_t n)
{
    uint8_t *d = dst;
    size_t k = n < in->left ? n : in->left;

    for (size_t i = 0; i < k; i++)
        d[i] = in->p[i];
    in->p += k;
    in->left -= k;
    return k;
}

#endif
