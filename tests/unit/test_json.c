/* Unit tests for proto/json.h: JSON <-> msgpack with limits and exact numbers. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/json.h"
#include "proto/status.h"

static char errbuf[256];

/* JSON -> msgpack into sb (fresh) with the given limits (NULL = defaults). */
static int to_mp(const char *json, size_t len, const struct proto_json_limits *lim,
                 msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    return proto_json_to_msgpack(json, len, lim ? lim : &proto_json_default_limits, &pk, errbuf,
                                 sizeof errbuf);
}

static int parse_str(const char *json)
{
    msgpack_sbuffer sb;
    int rc = to_mp(json, strlen(json), NULL, &sb);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* JSON -> msgpack -> JSON; returns the malloc'ed text or NULL on any failure. */
static char *round_trip(const char *json)
{
    msgpack_sbuffer sb;
    char *res = NULL;
    if (to_mp(json, strlen(json), NULL, &sb) == 0) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        if (msgpack_unpack_next(&up, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS &&
            off == sb.size) {
            struct proto_buf out = {0};
            if (proto_msgpack_to_json(&up.data, 32, &out) == 0)
                res = proto_xstrdup(out.data);
            proto_buf_free(&out);
        }
        msgpack_unpacked_destroy(&up);
    }
    msgpack_sbuffer_destroy(&sb);
    return res;
}

static void check_rt(const char *in, const char *expect)
{
    char *got = round_trip(in);
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got) {
        if (strcmp(got, expect) != 0)
            fprintf(stderr, "round trip of %s: got %s, want %s\n", in, got, expect);
        CU_ASSERT_STRING_EQUAL(got, expect);
    }
    free(got);
}

/* Unpacks the single value produced from `json` into up (caller destroys). */
static int to_obj(const char *json, msgpack_sbuffer *sb, msgpack_unpacked *up)
{
    msgpack_unpacked_init(up);
    int rc = to_mp(json, strlen(json), NULL, sb);
    if (rc)
        return rc;
    size_t off = 0;
    return msgpack_unpack_next(up, sb->data, sb->size, &off) == MSGPACK_UNPACK_SUCCESS ? 0 : -100;
}

static void test_json_round_trip(void)
{
    check_rt("{}", "{}");
    check_rt("[]", "[]");
    check_rt(" { \"a\" : [ 1 , true , false , null , \"x\" ] } ",
             "{\"a\":[1,true,false,null,\"x\"]}");
    check_rt("\"h\\u00e9llo \\ud83d\\ude00\"", "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
    check_rt("\"a\\\"b\\\\c\\/d\\n\\r\\t\\b\\f\\u0001\\u001f\"",
             "\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\\u0001\\u001f\"");
    check_rt("\"</script>\"", "\"</script>\"");
    check_rt("\"\xe2\x82\xac\"", "\"\xe2\x82\xac\"");
    check_rt("{\"n\":{\"m\":[[],{}]}}", "{\"n\":{\"m\":[[],{}]}}");
    check_rt("-9223372036854775808", "-9223372036854775808");
    check_rt("9223372036854775807", "9223372036854775807");
    check_rt("0", "0");
    check_rt("\"\"", "\"\"");
}

static void test_json_numbers_keep_text(void)
{
    check_rt("125.50", "125.50");
    check_rt("-0", "-0");
    check_rt("-0.0", "-0.0");
    check_rt("1e400", "1e400");
    check_rt("1E+2", "1E+2");
    check_rt("12345678901234567890", "12345678901234567890");
    check_rt("-9223372036854775809", "-9223372036854775809");
    check_rt("[0.1,2.50,3,-7,-0]", "[0.1,2.50,3,-7,-0]");
}

static void test_json_number_types(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    CU_ASSERT_EQUAL_FATAL(to_obj("[42,-7,125.50,12345678901234567890,-0,1e400]", &sb, &up), 0);
    const msgpack_object *a = up.data.via.array.ptr;
    CU_ASSERT_EQUAL(up.data.via.array.size, 6);
    CU_ASSERT_EQUAL(a[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    CU_ASSERT_EQUAL(a[0].via.u64, 42);
    CU_ASSERT_EQUAL(a[1].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    CU_ASSERT_EQUAL(a[1].via.i64, -7);
    static const char *const dec[] = {"125.50", "12345678901234567890", "-0", "1e400"};
    for (int i = 0; i < 4; i++) {
        const msgpack_object *o = &a[i + 2];
        CU_ASSERT_EQUAL(o->type, MSGPACK_OBJECT_EXT);
        CU_ASSERT_EQUAL(o->via.ext.type, PROTO_EXT_DECIMAL);
        CU_ASSERT_EQUAL(o->via.ext.size, strlen(dec[i]));
        CU_ASSERT_EQUAL(memcmp(o->via.ext.ptr, dec[i], strlen(dec[i])), 0);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_json_syntax_errors(void)
{
    static const char *const bad[] = {
        "",         " ",           "{",        "[",          "[1,]",
        "{,}",      "{\"a\"}",     "{\"a\":}", "{\"a\" 1}",  "[1 2]",
        "01",       "1.",          ".5",       "+1",         "-",
        "1e",       "1e+",         "tru",      "nul",        "falsey",
        "[1]]",     "{} {}",       "1 x",      "'a'",        "\"abc",
        "\"\\x\"",  "\"\\u12G4\"", "[\"a\",]", "{\"a\":1,}", "NaN",
        "Infinity", "\"a\tb\"",    "\"a\nb\"", "[1] 2",      "\xef\xbb\xbf{}",
        "{1:2}",    "[,1]",        "]",        "\"\\u12\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_str(bad[i]);
        if (rc != PROTO_ESYNTAX)
            fprintf(stderr, "expected ESYNTAX for %s, got %d\n", bad[i], rc);
        CU_ASSERT_EQUAL(rc, PROTO_ESYNTAX);
    }
}

static void test_json_error_message_offset(void)
{
    CU_ASSERT_EQUAL(parse_str("{\"amount\": 12,, \"x\": 1}"), PROTO_ESYNTAX);
    CU_ASSERT_STRING_EQUAL(errbuf, "unexpected ',' at byte 14");
    CU_ASSERT_EQUAL(parse_str("[1,2"), PROTO_ESYNTAX);
    CU_ASSERT_STRING_EQUAL(errbuf, "unexpected end of input at byte 4");
    CU_ASSERT_EQUAL(parse_str("{\"a\":1,\"a\":2}"), PROTO_ESYNTAX);
    CU_ASSERT_STRING_EQUAL(errbuf, "duplicate key at byte 7");
    CU_ASSERT_EQUAL(parse_str("1 x"), PROTO_ESYNTAX);
    CU_ASSERT_STRING_EQUAL(errbuf, "trailing characters after the document at byte 2");
    /* a tiny errbuf is truncated, never overflowed */
    char tiny[8];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    CU_ASSERT_EQUAL(proto_json_to_msgpack("[", 1, NULL, &pk, tiny, sizeof tiny), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(strlen(tiny), 7);
    CU_ASSERT_EQUAL(proto_json_to_msgpack("[", 1, NULL, &pk, NULL, 0), PROTO_ESYNTAX);
    msgpack_sbuffer_destroy(&sb);
}

static void test_json_truncated_documents(void)
{
    const char *doc =
        "{\"id\":\"r1\",\"n\":[1,2.5,-3e2,{\"k\":\"v\\u00e9\\n\"}],\"t\":true,\"z\":null}";
    size_t n = strlen(doc);
    CU_ASSERT_EQUAL(parse_str(doc), 0);
    for (size_t cut = 0; cut < n; cut++) {
        msgpack_sbuffer sb;
        int rc = to_mp(doc, cut, NULL, &sb);
        msgpack_sbuffer_destroy(&sb);
        if (rc != PROTO_ESYNTAX)
            fprintf(stderr, "cut at %zu: %d\n", cut, rc);
        CU_ASSERT_EQUAL(rc, PROTO_ESYNTAX);
    }
}

static void test_json_duplicate_keys(void)
{
    CU_ASSERT_EQUAL(parse_str("{\"a\":1,\"b\":2,\"a\":3}"), PROTO_ESYNTAX);
    /* the same key after unescaping */
    CU_ASSERT_EQUAL(parse_str("{\"a\":1,\"\\u0061\":2}"), PROTO_ESYNTAX);
    /* the same key in different objects is fine, and prefixes are different keys */
    CU_ASSERT_EQUAL(parse_str("{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}],\"ab\":0}"), 0);
    /* a large object: sorted check finds the duplicate */
    struct proto_buf b = {0};
    proto_buf_puts(&b, "{");
    for (int i = 0; i < 5000; i++)
        proto_buf_printf(&b, "\"k%d\":%d,", i, i);
    proto_buf_puts(&b, "\"k4321\":0}");
    msgpack_sbuffer sb;
    CU_ASSERT_EQUAL(to_mp(b.data, b.len, NULL, &sb), PROTO_ESYNTAX);
    msgpack_sbuffer_destroy(&sb);
    b.data[b.len - 5] = 'x'; /* "k432x": now unique */
    CU_ASSERT_EQUAL(to_mp(b.data, b.len, NULL, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    proto_buf_free(&b);
}

static void test_json_invalid_utf8(void)
{
    static const char *const bad[] = {
        "\"\xc0\xaf\"",         /* overlong '/' */
        "\"\xe0\x80\xaf\"",     /* overlong, 3 bytes */
        "\"\xf0\x80\x80\xaf\"", /* overlong, 4 bytes */
        "\"\xed\xa0\x80\"",     /* UTF-16 surrogate D800 encoded */
        "\"\xf4\x90\x80\x80\"", /* > U+10FFFF */
        "\"\xff\"",             /* never valid */
        "\"\x80\"",             /* lone continuation */
        "\"\xe2\x82\"",         /* truncated sequence */
        "\"\\ud800\"",          /* lone high surrogate escape */
        "\"\\udc00\"",          /* lone low surrogate escape */
        "\"\\ud800\\u0041\"",   /* high surrogate + non-low */
        "{\"\xc3\":1}",         /* in a key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_str(bad[i]);
        if (rc != PROTO_EUTF8)
            fprintf(stderr, "case %zu: got %d\n", i, rc);
        CU_ASSERT_EQUAL(rc, PROTO_EUTF8);
    }
    CU_ASSERT_EQUAL(parse_str("\"\xf4\x8f\xbf\xbf\""), 0); /* U+10FFFF is fine */
    CU_ASSERT_EQUAL(parse_str("\"\\udbff\\udfff\""), 0);
}

static void test_json_utf8_valid(void)
{
    CU_ASSERT_EQUAL(proto_utf8_valid("", 0), 1);
    CU_ASSERT_EQUAL(proto_utf8_valid("abc", 3), 1);
    CU_ASSERT_EQUAL(proto_utf8_valid("\xc3\xa9", 2), 1);
    CU_ASSERT_EQUAL(proto_utf8_valid("\xc3\xa9", 1), 0);
    CU_ASSERT_EQUAL(proto_utf8_valid("\xed\x9f\xbf", 3), 1); /* U+D7FF */
    CU_ASSERT_EQUAL(proto_utf8_valid("\xed\xbf\xbf", 3), 0); /* U+DFFF */
    CU_ASSERT_EQUAL(proto_utf8_valid("\xc1\xbf", 2), 0);
    CU_ASSERT_EQUAL(proto_utf8_valid("\xf5\x80\x80\x80", 4), 0);
}

static void test_json_limit_bytes_and_string(void)
{
    size_t n = 10u << 20;
    char *big = malloc(n + 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    big[0] = '"';
    memset(big + 1, 'a', n);
    big[n + 1] = '"';
    big[n + 2] = '\0';
    msgpack_sbuffer sb;
    CU_ASSERT_EQUAL(to_mp(big, n + 2, NULL, &sb), PROTO_ELIMIT);
    CU_ASSERT_STRING_EQUAL(errbuf, "document larger than 1048576 bytes at byte 1048576");
    msgpack_sbuffer_destroy(&sb);
    /* with a document limit large enough, the string limit still stops it */
    struct proto_json_limits lim = proto_json_default_limits;
    lim.max_bytes = 64u << 20;
    CU_ASSERT_EQUAL(to_mp(big, n + 2, &lim, &sb), PROTO_ELIMIT);
    CU_ASSERT_STRING_EQUAL(errbuf, "string longer than 65536 bytes at byte 0");
    msgpack_sbuffer_destroy(&sb);
    /* exactly at the string limit is fine, one more is not */
    lim.max_string = 10;
    CU_ASSERT_EQUAL(to_mp("\"aaaaaaaaaa\"", 12, &lim, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    CU_ASSERT_EQUAL(to_mp("\"aaaaaaaaaaa\"", 13, &lim, &sb), PROTO_ELIMIT);
    msgpack_sbuffer_destroy(&sb);
    CU_ASSERT_EQUAL(to_mp("{\"aaaaaaaaaaa\":1}", 17, &lim, &sb), PROTO_ELIMIT); /* key */
    msgpack_sbuffer_destroy(&sb);
    CU_ASSERT_EQUAL(to_mp("12345678901", 11, &lim, &sb), PROTO_ELIMIT); /* number */
    msgpack_sbuffer_destroy(&sb);
    lim.max_bytes = 4;
    CU_ASSERT_EQUAL(to_mp("[1,2]", 5, &lim, &sb), PROTO_ELIMIT);
    msgpack_sbuffer_destroy(&sb);
    CU_ASSERT_EQUAL(to_mp("[12]", 4, &lim, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    free(big);
}

static void test_json_limit_depth(void)
{
    size_t n = 100000;
    char *deep = malloc(2 * n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    msgpack_sbuffer sb;
    CU_ASSERT_EQUAL(to_mp(deep, 2 * n, NULL, &sb), PROTO_ELIMIT);
    CU_ASSERT_STRING_EQUAL(errbuf, "nesting deeper than 32 at byte 32");
    msgpack_sbuffer_destroy(&sb);
    /* even with no depth limit to speak of the parser does not use the C stack */
    struct proto_json_limits lim = {4u << 20, 1000000, 1024, 1000000};
    CU_ASSERT_EQUAL(to_mp(deep, 2 * n, &lim, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    memset(deep, '{', n); /* "{{{..." is a syntax error long before any limit */
    CU_ASSERT_EQUAL(to_mp(deep, 2 * n, &lim, &sb), PROTO_ESYNTAX);
    msgpack_sbuffer_destroy(&sb);
    free(deep);

    /* depth exactly at the limit: 32 passes, 33 fails; a scalar is depth 0 */
    char buf[80];
    memset(buf, '[', 32);
    memset(buf + 32, ']', 32);
    CU_ASSERT_EQUAL(to_mp(buf, 64, NULL, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    memset(buf, '[', 33);
    memset(buf + 33, ']', 33);
    CU_ASSERT_EQUAL(to_mp(buf, 66, NULL, &sb), PROTO_ELIMIT);
    msgpack_sbuffer_destroy(&sb);
    struct proto_json_limits zero = proto_json_default_limits;
    zero.max_depth = 0;
    CU_ASSERT_EQUAL(to_mp("1", 1, &zero, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    CU_ASSERT_EQUAL(to_mp("[]", 2, &zero, &sb), PROTO_ELIMIT);
    msgpack_sbuffer_destroy(&sb);
}

static void test_json_limit_items(void)
{
    struct proto_json_limits lim = proto_json_default_limits;
    lim.max_items = 4;
    msgpack_sbuffer sb;
    CU_ASSERT_EQUAL(to_mp("[1,2,3]", 7, &lim, &sb), 0); /* the array + 3 values */
    msgpack_sbuffer_destroy(&sb);
    CU_ASSERT_EQUAL(to_mp("[1,2,3,4]", 9, &lim, &sb), PROTO_ELIMIT);
    msgpack_sbuffer_destroy(&sb);
    CU_ASSERT_EQUAL(to_mp("{\"a\":1,\"b\":2,\"c\":3}", 19, &lim, &sb), 0); /* keys not counted */
    msgpack_sbuffer_destroy(&sb);
}

static void test_json_control_chars_rejected(void)
{
    char s[4] = {'"', 0, '"', 0};
    for (int c = 0; c < 0x20; c++) {
        s[1] = (char)c;
        msgpack_sbuffer sb;
        CU_ASSERT_EQUAL(to_mp(s, 3, NULL, &sb), PROTO_ESYNTAX);
        msgpack_sbuffer_destroy(&sb);
    }
    CU_ASSERT_EQUAL(parse_str("\"\x7f\""), 0); /* DEL is allowed by RFC 8259 */
}

static void test_json_output_escaping(void)
{
    struct proto_buf b = {0};
    CU_ASSERT_EQUAL(proto_json_quote(&b, "a\"\\\n\r\t\b\f\x01\x1f\x7f/\xc3\xa9", 14), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "\"a\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\x7f/\xc3\xa9\"");
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(proto_json_quote(&b, "\0x", 2), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "\"\\u0000x\"");
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(proto_json_quote(&b, "\xff", 1), PROTO_EUTF8);
    proto_buf_free(&b);
}

static int to_json_of(void (*build)(msgpack_packer *), int depth, struct proto_buf *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    build(&pk);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -100;
    if (msgpack_unpack_next(&up, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS)
        rc = proto_msgpack_to_json(&up.data, depth, out);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void build_floats(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    msgpack_pack_double(pk, 0.1);
    msgpack_pack_double(pk, 1.5);
    msgpack_pack_double(pk, -2.0);
    msgpack_pack_double(pk, 1e300);
    msgpack_pack_float(pk, 0.5f);
}
static void build_nan(msgpack_packer *pk)
{
    msgpack_pack_double(pk, NAN);
}
static void build_inf(msgpack_packer *pk)
{
    msgpack_pack_double(pk, -INFINITY);
}
static void build_bin(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 1);
    msgpack_pack_bin_body(pk, "x", 1);
}
static void build_other_ext(msgpack_packer *pk)
{
    msgpack_pack_ext(pk, 1, 7);
    msgpack_pack_ext_body(pk, "1", 1);
}
static void build_bad_decimal(msgpack_packer *pk)
{
    msgpack_pack_ext(pk, 5, PROTO_EXT_DECIMAL);
    msgpack_pack_ext_body(pk, "1}{\"x", 5);
}
static void build_int_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 2);
}
static void build_bad_utf8(msgpack_packer *pk)
{
    msgpack_pack_str(pk, 2);
    msgpack_pack_str_body(pk, "\xc0\xaf", 2);
}
static void build_nested3(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    msgpack_pack_str(pk, 1);
    msgpack_pack_str_body(pk, "k", 1);
    msgpack_pack_array(pk, 0);
}
static void build_ints(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint64(pk, UINT64_MAX);
    msgpack_pack_int64(pk, INT64_MIN);
    msgpack_pack_nil(pk);
}

static void test_json_from_msgpack(void)
{
    struct proto_buf b = {0};
    CU_ASSERT_EQUAL(to_json_of(build_floats, 8, &b), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "[0.1,1.5,-2,1e+300,0.5]");
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(to_json_of(build_ints, 8, &b), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "[18446744073709551615,-9223372036854775808,null]");
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(to_json_of(build_nested3, 3, &b), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "[{\"k\":[]}]");
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(to_json_of(build_nested3, 2, &b), PROTO_ELIMIT);
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(to_json_of(build_nan, 8, &b), PROTO_ETYPE);
    CU_ASSERT_EQUAL(to_json_of(build_inf, 8, &b), PROTO_ETYPE);
    CU_ASSERT_EQUAL(to_json_of(build_bin, 8, &b), PROTO_ETYPE);
    CU_ASSERT_EQUAL(to_json_of(build_other_ext, 8, &b), PROTO_ETYPE);
    CU_ASSERT_EQUAL(to_json_of(build_bad_decimal, 8, &b), PROTO_ETYPE);
    CU_ASSERT_EQUAL(to_json_of(build_int_key, 8, &b), PROTO_ETYPE);
    CU_ASSERT_EQUAL(to_json_of(build_bad_utf8, 8, &b), PROTO_EUTF8);
    proto_buf_free(&b);
}

static void test_json_failure_leaves_packer_empty(void)
{
    msgpack_sbuffer sb;
    CU_ASSERT_EQUAL(to_mp("[1,2,3,", 7, NULL, &sb), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(sb.size, 0); /* two passes: nothing is packed before validation ends */
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("json", NULL, NULL);
    CU_ADD_TEST(s, test_json_round_trip);
    CU_ADD_TEST(s, test_json_numbers_keep_text);
    CU_ADD_TEST(s, test_json_number_types);
    CU_ADD_TEST(s, test_json_syntax_errors);
    CU_ADD_TEST(s, test_json_error_message_offset);
    CU_ADD_TEST(s, test_json_truncated_documents);
    CU_ADD_TEST(s, test_json_duplicate_keys);
    CU_ADD_TEST(s, test_json_invalid_utf8);
    CU_ADD_TEST(s, test_json_utf8_valid);
    CU_ADD_TEST(s, test_json_limit_bytes_and_string);
    CU_ADD_TEST(s, test_json_limit_depth);
    CU_ADD_TEST(s, test_json_limit_items);
    CU_ADD_TEST(s, test_json_control_chars_rejected);
    CU_ADD_TEST(s, test_json_output_escaping);
    CU_ADD_TEST(s, test_json_from_msgpack);
    CU_ADD_TEST(s, test_json_failure_leaves_packer_empty);
    return ft_cunit_run();
}
