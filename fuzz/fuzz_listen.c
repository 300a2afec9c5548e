/* libFuzzer target: the listening test's ratings reader (src/listen/results.c) and what
 * `nac listen report` does with what it reads: post-screening and the per-condition statistics.
 * Every input is text from a stranger's browser or spreadsheet: it parses or is refused, and the
 * statistics of whatever parses are computed without a crash. */
#include <stdint.h>
#include <stdlib.h>

#include "listen/listen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nac_listen_ratings rs = {0};
    int st = nac_listen_ratings_parse(&rs, (const char *)data, size, "fuzz.csv", NULL);
    if (st != NAC_OK && st != NAC_ERR_FORMAT && st != NAC_ERR_TRUNCATED && st != NAC_ERR_EMPTY && st != NAC_ERR_NOMEM)
        abort();
    if (st == NAC_OK) {
        nac_listen_listener *ls = NULL;
        nac_listen_summary *sum = NULL;
        size_t nl = 0, ns = 0;
        if (nac_listen_postscreen(&ls, &nl, &rs, "reference", 90, 0.15, NULL) == NAC_OK)
            nac_listen_summarise(&sum, &ns, &rs, ls, nl, NULL);
        free(ls);
        free(sum);
    }
    nac_listen_ratings_free(&rs);
    return 0;
}
