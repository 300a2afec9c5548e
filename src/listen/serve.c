/* Request targets to safe relative paths, and content types, for `nac listen serve`. */
#include "listen/listen.h"

#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nac_listen_safe_path(char *out, size_t cap, const char *target)
{
    size_t k = 0;
    if (!out || cap < 16 || !target || target[0] != '/')
        return -1;
    for (const char *p = target + 1; *p && *p != '?' && *p != '#'; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            p += 2;
        }
        if (c < 32 || c == 127 || c == '\\')
            return -1;
        if (k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    if (k == 0) {
        strcpy(out, "index.html");
        return 0;
    }
    /* every segment: non-empty and not hidden (which also rules out "." and "..") */
    for (const char *s = out;;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 && e)
            return -1;
        if (len > 0 && s[0] == '.')
            return -1;
        if (!e)
            break;
        s = e + 1;
    }
    if (out[k - 1] == '/') {
        if (k + 10 >= cap)
            return -1;
        strcpy(out + k, "index.html");
    }
    return 0;
}

const char *nac_listen_mime(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
        {".wav", "audio/wav"}, {".flac", "audio/flac"}, {".ogg", "audio/ogg"},
        {".png", "image/png"}, {".csv", "text/csv; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"}, {".ico", "image/x-icon"}};
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i][0]))
                return types[i][1];
    return "application/octet-stream";
}
