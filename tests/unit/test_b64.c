/* Unit: unpadded base64url (proto/b64.h). */
#include <CUnit/Basic.h>
#include <string.h>

#include "ft_test.h"
#include "proto/b64.h"
#include "proto/status.h"

static void test_b64_rfc4648_vectors(void)
{
    /* RFC 4648 §10 vectors, without padding. */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        unsigned char back[16];
        size_t n = strlen(plain[i]);
        CU_ASSERT_EQUAL(proto_b64url_encode(plain[i], n, out, sizeof out), (long)strlen(enc[i]));
        CU_ASSERT_STRING_EQUAL(out, enc[i]);
        CU_ASSERT_EQUAL(PROTO_B64URL_LEN(n), strlen(enc[i]));
        CU_ASSERT_EQUAL(proto_b64url_decode(enc[i], strlen(enc[i]), back, sizeof back), (long)n);
        CU_ASSERT_EQUAL(memcmp(back, plain[i], n), 0);
    }
}

static void test_b64_url_alphabet(void)
{
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char out[8];
    CU_ASSERT_EQUAL(proto_b64url_encode(bytes, 3, out, sizeof out), 4);
    CU_ASSERT_STRING_EQUAL(out, "-_-_");
    unsigned char back[3];
    CU_ASSERT_EQUAL(proto_b64url_decode("-_-_", 4, back, 3), 3);
    CU_ASSERT_EQUAL(memcmp(back, bytes, 3), 0);
}

static void test_b64_strict_decoding(void)
{
    unsigned char out[16];
    CU_ASSERT_EQUAL(proto_b64url_decode("Zg==", 4, out, sizeof out), PROTO_ESYNTAX); /* '=' */
    CU_ASSERT_EQUAL(proto_b64url_decode("Zm+v", 4, out, sizeof out), PROTO_ESYNTAX); /* '+' */
    CU_ASSERT_EQUAL(proto_b64url_decode("Zm/v", 4, out, sizeof out), PROTO_ESYNTAX); /* '/' */
    CU_ASSERT_EQUAL(proto_b64url_decode("Zm 9", 4, out, sizeof out), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_b64url_decode("Zm9vY", 5, out, sizeof out), PROTO_ESYNTAX); /* 1 mod 4 */
    /* "Zh" decodes to 'f' too but with non-zero leftover bits: a second encoding, refused. */
    CU_ASSERT_EQUAL(proto_b64url_decode("Zh", 2, out, sizeof out), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_b64url_decode("Zm9v", 4, out, 2), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(proto_b64url_decode("Zm9vYmFy", 8, NULL, 6), 6); /* count only */
}

static void test_b64_encode_needs_room(void)
{
    char out[4] = "xyz";
    CU_ASSERT_EQUAL(proto_b64url_encode("foo", 3, out, 4), PROTO_ELIMIT); /* needs 5 */
    CU_ASSERT_STRING_EQUAL(out, "xyz");                                   /* untouched */
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("b64", NULL, NULL);
    CU_add_test(s, "test_b64_rfc4648_vectors", test_b64_rfc4648_vectors);
    CU_add_test(s, "test_b64_url_alphabet", test_b64_url_alphabet);
    CU_add_test(s, "test_b64_strict_decoding", test_b64_strict_decoding);
    CU_add_test(s, "test_b64_encode_needs_room", test_b64_encode_needs_room);
    return ft_cunit_run();
}
