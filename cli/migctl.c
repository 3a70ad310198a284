/* SPDX-License-Identifier: MIT */
/* migctl's entry point, alone in its file so that the fuzzer links the rest of cli/. */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
