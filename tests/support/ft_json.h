/*
 * tests/support/ft_json.h — JSON test bodies as msgpack objects, the form workers read them in
 * (the gateway converts with proto_json_to_msgpack, so tests convert the same way).
 * For the unit tests of workers' pure rules (tests/unit/test_*_rules.c). Single-threaded.
 */
#ifndef FT_JSON_H
#define FT_JSON_H

#include <msgpack.h>

/* The msgpack object of `json`, or NULL when it is not valid JSON. The object lives in one
 * static slot until the next call (or ft_json_free). */
const msgpack_object *ft_json_obj(const char *json);

/* Frees the slot (at the end of a test binary's main, so leak checkers stay quiet). */
void ft_json_free(void);

#endif
