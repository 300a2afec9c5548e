/* The nac command line: one entry point per subcommand group (tools/cmd_<group>.c).
 * Each returns the process exit status: 0 success, 1 failure (after one clear line on
 * stderr, "nac <cmd>: <what went wrong>"), 2 usage error. argv[0] is the subcommand name. */
#ifndef NAC_TOOLS_CMD_H
#define NAC_TOOLS_CMD_H

int nac_cmd_encode(int argc, char **argv);
int nac_cmd_decode(int argc, char **argv);
int nac_cmd_info(int argc, char **argv);
int nac_cmd_train(int argc, char **argv);
int nac_cmd_eval(int argc, char **argv);
int nac_cmd_plot(int argc, char **argv);
int nac_cmd_vq(int argc, char **argv);
int nac_cmd_features(int argc, char **argv);
int nac_cmd_synth(int argc, char **argv);

/* The vocoder mode (0.7-1.6 kbps) of nac encode / decode (tools/cmd_vocoder.c); same exit codes. */
struct nac_nacfile_reader;
int nac_vocoder_encode_file(const char *in, const char *out, double kbps, int quiet);
int nac_vocoder_decode_stream(struct nac_nacfile_reader *rd, const char *in, const char *out, int quiet);

#endif
