/* SPDX-License-Identifier: MIT */
/*
 * The simulator's /proc and /dev side: what the NVIDIA kernel module keeps for MIG, under a
 * root of the simulator's own (sim_store's root: $MIGSIM_ROOT, else "<state file>.root").
 *
 *   <root>/proc/devices                                   majors of nvidia-caps and nvidia-uvm
 *   <root>/proc/driver/nvidia-caps/mig-minors             the static table, every GPU of the node
 *   <root>/proc/driver/nvidia/capabilities/mig/{config,monitor}
 *   <root>/proc/driver/nvidia/capabilities/gpu<minor>/mig/gi<G>[/ci<C>]/access
 *                                                         one per existing GPU / compute instance
 *   <root>/dev/...                                        only on request (sim_devnodes_make)
 */
#ifndef MIGSIM_PROCFS_H
#define MIGSIM_PROCFS_H

#include <stddef.h>

#include "state.h"

#define SIM_NVIDIA_MAJOR 195
#define SIM_CAPS_MAJOR 237 /* dynamic on a real node: the nvidia-caps line of /proc/devices */
#define SIM_UVM_MAJOR 508  /* dynamic on a real node: the nvidia-uvm line of /proc/devices */
#define SIM_CAP_MODE 0444  /* DeviceFileMode of instance capabilities (292 decimal) */

/* The minor of a capability in mig-minors: 3 + 135*gpu_minor + 9*gi (+ 1 + ci). */
unsigned int sim_cap_minor(unsigned int gpu_minor, unsigned int gi, int ci);

/* Bring the /proc files under root up to date with st: write what is missing or different,
 * remove the capability files of instances that no longer exist. 0, or -1 with err. */
int sim_procfs_sync(const char *root, const struct sim_state *st, char *err, size_t errlen);

/* mknod the GPU nodes (/dev/nvidia<minor>), the control nodes (nvidiactl, nvidia-uvm,
 * nvidia-uvm-tools) and the config/monitor capability nodes under root/dev. A node that exists
 * with the right numbers is kept. 0, or -1 with err (e.g. mknod refused without root). */
int sim_devnodes_make(const char *root, const struct sim_state *st, char *err, size_t errlen);

#endif
