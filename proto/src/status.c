/* Error strings and HTTP reason phrases; see proto/status.h. */
#include "proto/status.h"

const char *proto_strerror(int err)
{
    switch (err) {
    case PROTO_OK:
        return "success";
    case PROTO_ESYNTAX:
        return "syntax error";
    case PROTO_ERANGE:
        return "number out of range";
    case PROTO_EPRECISION:
        return "too many fraction digits for the currency";
    case PROTO_ELIMIT:
        return "size, depth or count limit exceeded";
    case PROTO_ETYPE:
        return "value has the wrong type";
    case PROTO_EMISSING:
        return "required field is missing";
    case PROTO_EUTF8:
        return "string is not valid UTF-8";
    case PROTO_ENOMEM:
        return "out of memory";
    case PROTO_EIO:
        return "operating system error";
    case PROTO_EINVAL:
        return "invalid argument";
    case PROTO_EVERSION:
        return "unsupported envelope version";
    case PROTO_EAUTH:
        return "token is invalid";
    case PROTO_EEXPIRED:
        return "token has expired";
    default:
        return "unknown error";
    }
}

const char *proto_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 423:
        return "Locked";
    case 424:
        return "Failed Dependency";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    case 511:
        return "Network Authentication Required";
    default:
        return "Unknown";
    }
}
