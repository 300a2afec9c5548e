/* `nac`: dispatches to the subcommand groups of tools/cmd_*.c. */
#include "cmd.h"
#include "nac/nac.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand commands[] = {
    {"encode", nac_cmd_encode, "compress audio to a .nac file"},
    {"decode", nac_cmd_decode, "decode a .nac file to WAV or FLAC"},
    {"info", nac_cmd_info, "describe a .nac file or a model file"},
    {"features", nac_cmd_features, "vocoder features (rate-K dB, pitch) of speech, as float32 rows"},
    {"synth", nac_cmd_synth, "speech from vocoder feature rows"},
    {"train", nac_cmd_train, "train or fine-tune a codec model on a folder of audio"},
    {"eval", nac_cmd_eval, "objective metrics between a reference and a degraded signal"},
    {"plot", nac_cmd_plot, "spectrogram pictures (PNG)"},
    {"vq", nac_cmd_vq, "vector-quantisation toolkit on raw float32 feature files"},
    {"vqvae", nac_cmd_vqvae, "VQ-VAE on feature files: train, run, dump/inject latents"},
    {"listen", nac_cmd_listen, "MUSHRA listening tests and demo pages"},
    {"enhance", nac_cmd_enhance, "restore noisy, quantised or narrowband speech"},
    {"degrade", nac_cmd_degrade, "make degraded copies (noise, quantisation, narrowband) for tests"},
};

static void usage(FILE *f)
{
    fprintf(f, "nac %s: neural audio codec and vector-quantisation toolkit\n\n", NAC_VERSION_STRING);
    fprintf(f, "usage: nac <command> [options]   (nac <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexamples:\n"
               "  nac encode speech.wav speech.nac --kbps 6\n"
               "  nac decode speech.nac speech_out.wav\n"
               "  nac eval speech.wav speech_out.wav --json\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("nac %s\n", NAC_VERSION_STRING);
        return 0;
    }
    /* Streaming coding works on small blocks, where OpenMP's fork/join costs more than it gains:
     * one thread unless the user says otherwise. train and vq parallelise (their --threads). */
    if (!getenv("OMP_NUM_THREADS") && strcmp(argv[1], "train") && strcmp(argv[1], "vq"))
        omp_set_num_threads(1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nac: unknown command '%s' (try nac --help)\n", argv[1]);
    return 2;
}
