/* One formatted line to a trainer's report callback (a NAC_TRAIN_NOTE event); nothing when report is
 * NULL. Lines longer than 1 KiB are cut. */
#ifndef NAC_TRAIN_REPORT_H
#define NAC_TRAIN_REPORT_H

#include "nac/train.h"

void nac_train_note(nac_train_report report, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
