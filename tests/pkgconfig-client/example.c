/* List a node's GPUs with libmig. Build: cc -o example example.c $(pkg-config --cflags --libs mig) */
#include <stdio.h>

#include <mig.h>

static const char *mode_name(enum mig_mode mode)
{
	switch (mode) {
	case MIG_MODE_ENABLED:
		return "enabled";
	case MIG_MODE_DISABLED:
		return "disabled";
	default:
		return "unsupported";
	}
}

int main(int argc, char **argv)
{
	/* argv[1]: the NVML library to load; without it, the driver's libnvidia-ml.so.1 */
	const char *nvml = argc > 1 ? argv[1] : "libnvidia-ml.so.1";
	struct mig_error err;
	struct mig_ctx *ctx;
	struct mig_node *node;

	printf("libmig %s, compiled with mig.h %d.%d\n", mig_version(), MIG_VERSION_MAJOR, MIG_VERSION_MINOR);
	if (mig_ctx_new(&ctx, nvml, &err) != 0) {
		fprintf(stderr, "example: %s\n", err.msg);
		return 1;
	}
	if (mig_node_read(ctx, &node, MIG_READ_BASIC, &err) != 0) {
		fprintf(stderr, "example: %s\n", err.msg);
		mig_ctx_free(ctx);
		return 1;
	}
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *gpu = &node->gpus[i];
		printf("GPU %u: %s %s MIG %s, %zu GPU instances\n", gpu->index, gpu->name, gpu->uuid,
		       mode_name(gpu->mode_current), gpu->ngis);
	}
	printf("driver %s, %lu NVML calls\n", mig_ctx_driver_version(ctx), mig_ctx_nvml_calls(ctx));
	mig_node_free(node);
	mig_ctx_free(ctx);
	return 0;
}
