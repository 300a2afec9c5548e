/* Formatted note lines for the trainers' report callbacks. */
#include "train/report.h"

#include <stdarg.h>
#include <stdio.h>

void nac_train_note(nac_train_report report, void *ctx, const char *fmt, ...)
{
    if (!report)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    report(ctx, NAC_TRAIN_NOTE, line, NULL);
}
