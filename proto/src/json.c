/*
 * JSON text <-> msgpack with limits; see proto/json.h.
 *
 * msgpack needs every array and map length before its elements, so parsing is in
 * two passes: the first validates the document and records a flat list of tokens
 * in document order (containers get their element count when they close, strings
 * are unescaped into one arena); the second packs the tokens. The first pass keeps
 * its own stack of open containers, so nesting never grows the C stack.
 */
#include "proto/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

const struct proto_json_limits proto_json_default_limits = {
    .max_bytes = 1u << 20,
    .max_depth = 32,
    .max_string = 64u << 10,
    .max_items = 100000,
};

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 if invalid.
 * The ranges are RFC 3629's table, which excludes overlongs, surrogates and > U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0)
            return 0; /* overlong */
        if (c == 0xed && s[1] > 0x9f)
            return 0; /* U+D800..U+DFFF */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xf4 && s[1] > 0x8f)
            return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

int proto_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq(p + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the JSON number at the start of s (RFC 8259 grammar), 0 if there is none.
 * *is_int is set when it has neither fraction nor exponent. */
static size_t scan_number(const char *s, size_t n, int *is_int)
{
    size_t i = 0;
    *is_int = 1;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
        *is_int = 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
        *is_int = 0;
    }
    return i;
}

/* Integer literal (already validated) -> int64, or -1 when it does not fit. */
static int int_literal(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = s[0] == '-';
    if (neg)
        i++;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (limit - d) / 10)
            return -1;
        mag = mag * 10 + d;
    }
    if (neg)
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    else
        *out = (int64_t)mag;
    return 0;
}

enum tok_type { T_NULL, T_TRUE, T_FALSE, T_INT, T_DEC, T_STR, T_ARR, T_OBJ };

struct tok {
    enum tok_type type;
    size_t a;  /* T_STR: arena offset; T_DEC: source offset */
    size_t b;  /* T_STR, T_DEC: length; T_ARR, T_OBJ: element count */
    int64_t i; /* T_INT: value; T_STR: source offset (for error messages) */
};

struct open_container {
    size_t tok;     /* index in toks */
    size_t keybase; /* nkeys when it opened: its keys are keys[keybase..nkeys) */
};

struct parser {
    const char *s;
    size_t len, pos;
    const struct proto_json_limits *lim;
    struct tok *toks;
    size_t ntok, captok;
    struct proto_buf arena;
    struct open_container *stack;
    size_t depth, capstack;
    size_t *keys;
    size_t nkeys, capkeys;
    size_t items;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, int code, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, int code, size_t at, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < p->errlen)
            snprintf(p->err + n, p->errlen - (size_t)n, " at byte %zu", at);
    }
    return code;
}

static int unexpected(struct parser *p)
{
    if (p->pos >= p->len)
        return fail(p, PROTO_ESYNTAX, p->pos, "unexpected end of input");
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c >= 0x20 && c < 0x7f)
        return fail(p, PROTO_ESYNTAX, p->pos, "unexpected '%c'", c);
    return fail(p, PROTO_ESYNTAX, p->pos, "unexpected byte 0x%02x", c);
}

static size_t push_tok(struct parser *p, enum tok_type type)
{
    if (p->ntok == p->captok) {
        p->captok = p->captok ? p->captok * 2 : 64;
        p->toks = proto_xrealloc(p->toks, p->captok * sizeof *p->toks);
    }
    p->toks[p->ntok] = (struct tok){.type = type};
    return p->ntok++;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(struct proto_buf *b, unsigned cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    proto_buf_append(b, u, n);
}

/* \uXXXX (and its low-surrogate partner) at p->pos, which points at the 'u'. */
static int parse_u_escape(struct parser *p, size_t esc_at)
{
    unsigned cp, lo;
    if (p->len - p->pos < 5 || hex4(p->s + p->pos + 1, &cp) != 0)
        return fail(p, PROTO_ESYNTAX, esc_at, "invalid \\u escape");
    p->pos += 5;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail(p, PROTO_EUTF8, esc_at, "lone low surrogate escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
            hex4(p->s + p->pos + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
            return fail(p, PROTO_EUTF8, esc_at, "lone high surrogate escape");
        p->pos += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    put_utf8(&p->arena, cp);
    return 0;
}

/* A string literal at p->pos (the opening quote) -> a T_STR token. */
static int parse_string(struct parser *p)
{
    size_t at = p->pos;
    size_t start = p->arena.len;
    size_t max = p->lim->max_string;
    int rc;
    p->pos++;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, PROTO_ESYNTAX, at, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return fail(p, PROTO_ESYNTAX, p->pos, "control character in string");
        if (c == '\\') {
            size_t esc_at = p->pos;
            if (++p->pos >= p->len)
                return fail(p, PROTO_ESYNTAX, at, "unterminated string");
            char e = p->s[p->pos];
            char out;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                out = e;
                break;
            case 'b':
                out = '\b';
                break;
            case 'f':
                out = '\f';
                break;
            case 'n':
                out = '\n';
                break;
            case 'r':
                out = '\r';
                break;
            case 't':
                out = '\t';
                break;
            case 'u':
                if ((rc = parse_u_escape(p, esc_at)) != 0)
                    return rc;
                goto check_len;
            default:
                return fail(p, PROTO_ESYNTAX, esc_at, "invalid escape");
            }
            proto_buf_append(&p->arena, &out, 1);
            p->pos++;
        } else if (c < 0x80) {
            /* Copy a run of plain ASCII at once; long strings are the common case. */
            size_t run = p->pos;
            while (run < p->len) {
                unsigned char r = (unsigned char)p->s[run];
                if (r < 0x20 || r >= 0x80 || r == '"' || r == '\\')
                    break;
                run++;
                if (run - p->pos > max)
                    break; /* enough to know it is too long */
            }
            proto_buf_append(&p->arena, p->s + p->pos, run - p->pos);
            p->pos = run;
        } else {
            size_t n = utf8_seq((const unsigned char *)p->s + p->pos, p->len - p->pos);
            if (!n)
                return fail(p, PROTO_EUTF8, p->pos, "invalid UTF-8 in string");
            proto_buf_append(&p->arena, p->s + p->pos, n);
            p->pos += n;
        }
    check_len:
        if (p->arena.len - start > max)
            return fail(p, PROTO_ELIMIT, at, "string longer than %zu bytes", max);
    }
    size_t t = push_tok(p, T_STR);
    p->toks[t].a = start;
    p->toks[t].b = p->arena.len - start;
    p->toks[t].i = (int64_t)at;
    return 0;
}

static int parse_number(struct parser *p)
{
    int is_int;
    size_t at = p->pos;
    size_t n = scan_number(p->s + at, p->len - at, &is_int);
    if (!n)
        return fail(p, PROTO_ESYNTAX, at, "invalid number");
    if (n > p->lim->max_string)
        return fail(p, PROTO_ELIMIT, at, "number longer than %zu bytes", p->lim->max_string);
    p->pos += n;
    int64_t v;
    /* "-0" stays a decimal so its sign survives the round trip. */
    int neg_zero = n == 2 && p->s[at] == '-' && p->s[at + 1] == '0';
    if (is_int && !neg_zero && int_literal(p->s + at, n, &v) == 0) {
        size_t t = push_tok(p, T_INT);
        p->toks[t].i = v;
    } else {
        size_t t = push_tok(p, T_DEC);
        p->toks[t].a = at;
        p->toks[t].b = n;
    }
    return 0;
}

static int parse_literal(struct parser *p, const char *word, enum tok_type type)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return unexpected(p);
    p->pos += n;
    push_tok(p, type);
    return 0;
}

static int parse_scalar(struct parser *p)
{
    char c = p->s[p->pos];
    if (c == '"')
        return parse_string(p);
    if (c == '-' || is_digit(c))
        return parse_number(p);
    if (c == 't')
        return parse_literal(p, "true", T_TRUE);
    if (c == 'f')
        return parse_literal(p, "false", T_FALSE);
    if (c == 'n')
        return parse_literal(p, "null", T_NULL);
    return unexpected(p);
}

struct keyref {
    const char *ptr;
    size_t len;
    size_t at;
};

static int cmp_keyref(const void *x, const void *y)
{
    const struct keyref *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->ptr, b->ptr, n);
    if (c)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Rejects duplicate keys of the object that is closing, by sorting its keys:
 * O(n log n), so a 100k-key object cannot be turned into a quadratic stall. */
static int check_dup_keys(struct parser *p, size_t keybase)
{
    size_t m = p->nkeys - keybase;
    int rc = 0;
    if (m < 2)
        return 0;
    struct keyref small[16];
    struct keyref *refs = m <= 16 ? small : proto_xmalloc(m * sizeof *refs);
    for (size_t k = 0; k < m; k++) {
        const struct tok *t = &p->toks[p->keys[keybase + k]];
        refs[k] = (struct keyref){p->arena.data + t->a, t->b, (size_t)t->i};
    }
    qsort(refs, m, sizeof *refs, cmp_keyref);
    for (size_t k = 1; k < m; k++) {
        if (cmp_keyref(&refs[k - 1], &refs[k]) == 0) {
            size_t at = refs[k].at > refs[k - 1].at ? refs[k].at : refs[k - 1].at;
            rc = fail(p, PROTO_ESYNTAX, at, "duplicate key");
            break;
        }
    }
    if (refs != small)
        free(refs);
    return rc;
}

static void push_open(struct parser *p, size_t tok)
{
    if (p->depth == p->capstack) {
        p->capstack = p->capstack ? p->capstack * 2 : 16;
        p->stack = proto_xrealloc(p->stack, p->capstack * sizeof *p->stack);
    }
    p->stack[p->depth++] = (struct open_container){tok, p->nkeys};
}

static void push_key(struct parser *p, size_t tok)
{
    if (p->nkeys == p->capkeys) {
        p->capkeys = p->capkeys ? p->capkeys * 2 : 16;
        p->keys = proto_xrealloc(p->keys, p->capkeys * sizeof *p->keys);
    }
    p->keys[p->nkeys++] = tok;
}

/* Pops the innermost container after its closing bracket. */
static int close_container(struct parser *p)
{
    struct open_container *top = &p->stack[p->depth - 1];
    if (p->toks[top->tok].type == T_OBJ) {
        int rc = check_dup_keys(p, top->keybase);
        if (rc)
            return rc;
        p->nkeys = top->keybase;
    }
    p->depth--;
    return 0;
}

static int parse_document(struct parser *p)
{
    enum { NEED_VALUE, NEED_KEY, AFTER_VALUE } st = NEED_VALUE;
    int rc;
    for (;;) {
        skip_ws(p);
        if (st == NEED_VALUE) {
            if (p->pos >= p->len)
                return unexpected(p);
            if (++p->items > p->lim->max_items)
                return fail(p, PROTO_ELIMIT, p->pos, "more than %zu values", p->lim->max_items);
            char c = p->s[p->pos];
            if (c == '[' || c == '{') {
                /* Checked before descending: depth is bounded by the limit, not the input. */
                if (p->lim->max_depth < 0 || p->depth >= (size_t)p->lim->max_depth)
                    return fail(p, PROTO_ELIMIT, p->pos, "nesting deeper than %d",
                                p->lim->max_depth);
                push_open(p, push_tok(p, c == '{' ? T_OBJ : T_ARR));
                p->pos++;
                skip_ws(p);
                if (p->pos < p->len && p->s[p->pos] == (c == '{' ? '}' : ']')) {
                    p->pos++;
                    if ((rc = close_container(p)) != 0)
                        return rc;
                    st = AFTER_VALUE;
                } else {
                    st = c == '{' ? NEED_KEY : NEED_VALUE;
                }
                continue;
            }
            if ((rc = parse_scalar(p)) != 0)
                return rc;
            st = AFTER_VALUE;
            continue;
        }
        if (st == NEED_KEY) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return unexpected(p);
            if ((rc = parse_string(p)) != 0)
                return rc;
            push_key(p, p->ntok - 1);
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return unexpected(p);
            p->pos++;
            st = NEED_VALUE;
            continue;
        }
        /* AFTER_VALUE: one value of the innermost container (or the document) is done. */
        if (p->depth == 0) {
            if (p->pos != p->len)
                return fail(p, PROTO_ESYNTAX, p->pos, "trailing characters after the document");
            return 0;
        }
        struct tok *top = &p->toks[p->stack[p->depth - 1].tok];
        top->b++;
        if (top->b > UINT32_MAX)
            return fail(p, PROTO_ELIMIT, p->pos, "container too large");
        if (p->pos >= p->len)
            return unexpected(p);
        char c = p->s[p->pos];
        if (c == ',') {
            p->pos++;
            st = top->type == T_OBJ ? NEED_KEY : NEED_VALUE;
        } else if ((c == '}' && top->type == T_OBJ) || (c == ']' && top->type == T_ARR)) {
            p->pos++;
            if ((rc = close_container(p)) != 0)
                return rc;
        } else {
            return unexpected(p);
        }
    }
}

static void emit(const struct parser *p, msgpack_packer *pk)
{
    for (size_t k = 0; k < p->ntok; k++) {
        const struct tok *t = &p->toks[k];
        switch (t->type) {
        case T_NULL:
            msgpack_pack_nil(pk);
            break;
        case T_TRUE:
            msgpack_pack_true(pk);
            break;
        case T_FALSE:
            msgpack_pack_false(pk);
            break;
        case T_INT:
            msgpack_pack_int64(pk, t->i);
            break;
        case T_DEC:
            msgpack_pack_ext(pk, t->b, PROTO_EXT_DECIMAL);
            msgpack_pack_ext_body(pk, p->s + t->a, t->b);
            break;
        case T_STR:
            msgpack_pack_str(pk, t->b);
            msgpack_pack_str_body(pk, p->arena.data + t->a, t->b);
            break;
        case T_ARR:
            msgpack_pack_array(pk, t->b);
            break;
        case T_OBJ:
            msgpack_pack_map(pk, t->b);
            break;
        }
    }
}

int proto_json_to_msgpack(const char *json, size_t len, const struct proto_json_limits *lim,
                          msgpack_packer *pk, char *errbuf, size_t errlen)
{
    struct parser p = {.s = json, .len = len, .lim = lim ? lim : &proto_json_default_limits};
    p.err = errbuf;
    p.errlen = errlen;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (len > p.lim->max_bytes)
        return fail(&p, PROTO_ELIMIT, p.lim->max_bytes, "document larger than %zu bytes",
                    p.lim->max_bytes);
    if (!json)
        p.len = 0;
    int rc = parse_document(&p);
    if (rc == 0)
        emit(&p, pk);
    free(p.toks);
    free(p.stack);
    free(p.keys);
    proto_buf_free(&p.arena);
    return rc;
}

int proto_json_quote(struct proto_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (!proto_utf8_valid(s, len))
        return PROTO_EUTF8;
    proto_buf_append(out, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            if (c < 0x20) {
                memcpy(u, "\\u00", 4);
                u[4] = hex[c >> 4];
                u[5] = hex[c & 0xf];
                u[6] = '\0';
                esc = u;
            }
        }
        if (esc) {
            proto_buf_append(out, s + run, i - run);
            proto_buf_puts(out, esc);
            run = i + 1;
        }
    }
    proto_buf_append(out, s + run, len - run);
    proto_buf_append(out, "\"", 1);
    return 0;
}

static void put_double(struct proto_buf *out, double d)
{
    char tmp[40];
    /* Shortest precision that reads back as the same double. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    proto_buf_puts(out, tmp);
}

static int to_json(const msgpack_object *o, int depth_left, struct proto_buf *out)
{
    int rc, is_int;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        proto_buf_puts(out, "null");
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        proto_buf_puts(out, o->via.boolean ? "true" : "false");
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        proto_buf_printf(out, "%llu", (unsigned long long)o->via.u64);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        proto_buf_printf(out, "%lld", (long long)o->via.i64);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64))
            return PROTO_ETYPE;
        put_double(out, o->via.f64);
        return 0;
    case MSGPACK_OBJECT_STR:
        return proto_json_quote(out, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_EXT:
        /* Printed verbatim, so it must be a JSON number or we would emit broken JSON. */
        if (o->via.ext.type != PROTO_EXT_DECIMAL || o->via.ext.size == 0 ||
            scan_number(o->via.ext.ptr, o->via.ext.size, &is_int) != o->via.ext.size)
            return PROTO_ETYPE;
        proto_buf_append(out, o->via.ext.ptr, o->via.ext.size);
        return 0;
    case MSGPACK_OBJECT_ARRAY:
        if (depth_left < 1)
            return PROTO_ELIMIT;
        proto_buf_append(out, "[", 1);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                proto_buf_append(out, ",", 1);
            if ((rc = to_json(&o->via.array.ptr[i], depth_left - 1, out)) != 0)
                return rc;
        }
        proto_buf_append(out, "]", 1);
        return 0;
    case MSGPACK_OBJECT_MAP:
        if (depth_left < 1)
            return PROTO_ELIMIT;
        proto_buf_append(out, "{", 1);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return PROTO_ETYPE;
            if (i)
                proto_buf_append(out, ",", 1);
            if ((rc = proto_json_quote(out, kv->key.via.str.ptr, kv->key.via.str.size)) != 0)
                return rc;
            proto_buf_append(out, ":", 1);
            if ((rc = to_json(&kv->val, depth_left - 1, out)) != 0)
                return rc;
        }
        proto_buf_append(out, "}", 1);
        return 0;
    default:
        return PROTO_ETYPE; /* bin and anything newer */
    }
}

int proto_msgpack_to_json(const msgpack_object *obj, int max_depth, struct proto_buf *out)
{
    return to_json(obj, max_depth, out);
}
