/* The nac command line: one entry point per subcommand group (tools/cmd_<group>.c).
 * Each returns the process exit status: 0 success, 1 failure (after one clear line on
 * stderr, "nac <cmd>: <what went wrong>"), 2 usage error. argv[0] is the subcommand name. */
#ifndef NAC_TOOLS_CMD_H
#define NAC_TOOLS_CMD_H

#include <stddef.h>

#include "nac/error.h"

/* tools/args.c. nac_cli_positional takes a as the next of the positional arguments IN and OUT ("-"
 * is a name): 0, or 2 after one line for an unknown option or a third argument (help: the command
 * that explains, e.g. "nac synth --help"). nac_cli_same_file: 1 when paths a and b name one existing
 * file (after links; "-" never does). nac_cli_refuse_same_file: 0, or 2 after one line when OUT is IN. */
int nac_cli_positional(const char *cmd, const char *help, const char *a, const char **in, const char **out);
int nac_cli_same_file(const char *a, const char *b);
int nac_cli_refuse_same_file(const char *cmd, const char *in, const char *out);
/* nac encode's input samples x (n), the first being sample `first` of the file path at rate Hz:
 * refuses NaN and infinity (NAC_ERR_NUMERIC naming the file, the sample and its time), clips the
 * rest to [-1, 1] (adding the count to *clipped). */
int nac_cli_condition_input(float *x, size_t n, size_t first, size_t *clipped, int rate, const char *path,
                            nac_error *err);

int nac_cmd_encode(int argc, char **argv);
int nac_cmd_decode(int argc, char **argv);
int nac_cmd_info(int argc, char **argv);
int nac_cmd_features(int argc, char **argv);
int nac_cmd_synth(int argc, char **argv);
/* The vocoder mode (0.7-1.6 kbps) of nac encode / info (tools/cmd_vocoder.c; nac decode decodes it
 * through the packet API like every mode); same exit codes. nac_vocoder_kbps_arg: 1 when argv asks
 * for one of its rates. */
struct nac_stream_info;
int nac_vocoder_kbps_arg(int argc, char **argv);
int nac_vocoder_cmd_encode(int argc, char **argv);
void nac_vocoder_print_info(const struct nac_stream_info *in);
int nac_cmd_train(int argc, char **argv);
int nac_cmd_eval(int argc, char **argv);
int nac_cmd_plot(int argc, char **argv);
int nac_cmd_vq(int argc, char **argv);
int nac_cmd_vqvae(int argc, char **argv);
int nac_cmd_plot_features(int argc, char **argv); /* nac plot latent / frame */
int nac_cmd_listen(int argc, char **argv);
int nac_cmd_enhance(int argc, char **argv);
int nac_cmd_degrade(int argc, char **argv);
int nac_cmd_train_enhance(int argc, char **argv); /* nac train --task ... (cmd_enhance.c) */

#endif
