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
int nac_cmd_enhance(int argc, char **argv);
int nac_cmd_degrade(int argc, char **argv);
int nac_cmd_train_enhance(int argc, char **argv); /* nac train --task ... (cmd_enhance.c) */

#endif
