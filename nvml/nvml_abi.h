/* SPDX-License-Identifier: MIT */
/*
 * The subset of the NVML C ABI that migctl uses and that the simulator exports.
 *
 * Written for this project from the ABI facts (shared/facts/nvml-abi.md: NVML API 13,
 * x86_64 LP64); NVIDIA's nvml.h is not copied. Every struct's size and the offsets that
 * matter are checked below with static assertions, so a layout mistake fails the build.
 */
#ifndef MIG_NVML_ABI_H
#define MIG_NVML_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes ---------------------------------------------------------------- */
typedef enum nvmlReturn_enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_ALREADY_INITIALIZED = 5,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_INSUFFICIENT_POWER = 8,
	NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_TIMEOUT = 10,
	NVML_ERROR_IRQ_ISSUE = 11,
	NVML_ERROR_LIBRARY_NOT_FOUND = 12,
	NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	NVML_ERROR_CORRUPTED_INFOROM = 14,
	NVML_ERROR_GPU_IS_LOST = 15,
	NVML_ERROR_RESET_REQUIRED = 16,
	NVML_ERROR_OPERATING_SYSTEM = 17,
	NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
	NVML_ERROR_IN_USE = 19,
	NVML_ERROR_MEMORY = 20,
	NVML_ERROR_NO_DATA = 21,
	NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
	NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
	NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
	NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
	NVML_ERROR_DEPRECATED = 26,
	NVML_ERROR_NOT_READY = 27,
	NVML_ERROR_GPU_NOT_FOUND = 28,
	NVML_ERROR_INVALID_STATE = 29,
	NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30,
	NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

/* ---- opaque handles ---------------------------------------------------------------- */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlGpuInstance_st *nvmlGpuInstance_t;
typedef struct nvmlComputeInstance_st *nvmlComputeInstance_t;

/* ---- sizes and flags ---------------------------------------------------------------- */
#define NVML_DEVICE_NAME_BUFFER_SIZE 64
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_DEVICE_UUID_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_UUID_ASCII_LEN 41
#define NVML_DEVICE_UUID_BINARY_LEN 16
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_PCI_BUS_ID_FMT "%08X:%02X:%02X.0"
#define NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT "%04X:%02X:%02X.0"

#define NVML_INIT_FLAG_NO_GPUS 1u
#define NVML_INIT_FLAG_NO_ATTACH 2u
#define NVML_INIT_FLAG_FORCE_INIT 4u

typedef unsigned int nvmlDeviceArchitecture_t;
#define NVML_DEVICE_ARCH_AMPERE 7u
#define NVML_DEVICE_ARCH_ADA 8u
#define NVML_DEVICE_ARCH_HOPPER 9u
#define NVML_DEVICE_ARCH_BLACKWELL 10u
#define NVML_DEVICE_ARCH_UNKNOWN 0xffffffffu

/* ---- MIG constants ---------------------------------------------------------------- */
#define NVML_DEVICE_MIG_DISABLE 0x0u
#define NVML_DEVICE_MIG_ENABLE 0x1u

/* GPU-instance profile *indices*: the argument of nvmlDeviceGetGpuInstanceProfileInfo[V].
 * They are not the driver profile ids that Create/Placements/Capacity take. */
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE 0x0u
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE 0x1u
#define NVML_GPU_INSTANCE_PROFILE_3_SLICE 0x2u
#define NVML_GPU_INSTANCE_PROFILE_4_SLICE 0x3u
#define NVML_GPU_INSTANCE_PROFILE_7_SLICE 0x4u
#define NVML_GPU_INSTANCE_PROFILE_8_SLICE 0x5u
#define NVML_GPU_INSTANCE_PROFILE_6_SLICE 0x6u
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1 0x7u
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1 0x8u
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2 0x9u
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX 0x0Au
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX 0x0Bu
#define NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX 0x0Cu
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME 0x0Du
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME 0x0Eu
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME 0x0Fu
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME 0x10u
#define NVML_GPU_INSTANCE_PROFILE_3_SLICE_GFX 0x11u
#define NVML_GPU_INSTANCE_PROFILE_COUNT 0x12u

#define NVML_GPU_INSTANCE_PROFILE_CAPS_P2P 0x1u
#define NVML_GPU_INSTANCE_PROFILE_CAPS_GFX 0x2u
#define NVML_COMPUTE_INSTANCE_PROFILE_CAPS_GFX 0x1u

/* Compute-instance profile indices; for CIs the index is also the profile id. */
#define NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE 0x0u
#define NVML_COMPUTE_INSTANCE_PROFILE_2_SLICE 0x1u
#define NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE 0x2u
#define NVML_COMPUTE_INSTANCE_PROFILE_4_SLICE 0x3u
#define NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE 0x4u
#define NVML_COMPUTE_INSTANCE_PROFILE_8_SLICE 0x5u
#define NVML_COMPUTE_INSTANCE_PROFILE_6_SLICE 0x6u
#define NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1 0x7u
#define NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE_NVL 0x8u
#define NVML_COMPUTE_INSTANCE_PROFILE_COUNT 0x9u

#define NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED 0x0u
#define NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT 0x1u

/* ---- structs ---------------------------------------------------------------- */
typedef struct nvmlGpuInstancePlacement_st {
	unsigned int start; /* memory-slice units */
	unsigned int size;
} nvmlGpuInstancePlacement_t;

typedef struct nvmlComputeInstancePlacement_st {
	unsigned int start; /* compute-slice units inside the GPU instance */
	unsigned int size;
} nvmlComputeInstancePlacement_t;

typedef struct nvmlGpuInstanceProfileInfo_st {
	unsigned int id; /* driver profile id (19, 15, 14, 9, 5, 0 ...) */
	unsigned int isP2pSupported;
	unsigned int sliceCount;
	unsigned int instanceCount;
	unsigned int multiprocessorCount;
	unsigned int copyEngineCount;
	unsigned int decoderCount;
	unsigned int encoderCount;
	unsigned int jpegCount;
	unsigned int ofaCount;
	unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

typedef struct nvmlGpuInstanceProfileInfo_v2_st {
	unsigned int version;
	unsigned int id;
	unsigned int isP2pSupported;
	unsigned int sliceCount;
	unsigned int instanceCount;
	unsigned int multiprocessorCount;
	unsigned int copyEngineCount;
	unsigned int decoderCount;
	unsigned int encoderCount;
	unsigned int jpegCount;
	unsigned int ofaCount;
	unsigned long long memorySizeMB;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
} nvmlGpuInstanceProfileInfo_v2_t;

/* Same size as v2, different layout: isP2pSupported is gone, capabilities added. */
typedef struct nvmlGpuInstanceProfileInfo_v3_st {
	unsigned int version;
	unsigned int id;
	unsigned int sliceCount;
	unsigned int instanceCount;
	unsigned int multiprocessorCount;
	unsigned int copyEngineCount;
	unsigned int decoderCount;
	unsigned int encoderCount;
	unsigned int jpegCount;
	unsigned int ofaCount;
	unsigned long long memorySizeMB;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	unsigned int capabilities;
} nvmlGpuInstanceProfileInfo_v3_t;

#define NVML_STRUCT_VERSION_OF(type, ver) ((unsigned int)(sizeof(type) | ((unsigned int)(ver) << 24U)))
#define nvmlGpuInstanceProfileInfo_v2 NVML_STRUCT_VERSION_OF(nvmlGpuInstanceProfileInfo_v2_t, 2)
#define nvmlGpuInstanceProfileInfo_v3 NVML_STRUCT_VERSION_OF(nvmlGpuInstanceProfileInfo_v3_t, 3)

typedef struct nvmlGpuInstanceInfo_st {
	nvmlDevice_t device;
	unsigned int id;
	unsigned int profileId;
	nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;

typedef struct nvmlComputeInstanceProfileInfo_st {
	unsigned int id;
	unsigned int sliceCount;
	unsigned int instanceCount;
	unsigned int multiprocessorCount;
	unsigned int sharedCopyEngineCount;
	unsigned int sharedDecoderCount;
	unsigned int sharedEncoderCount;
	unsigned int sharedJpegCount;
	unsigned int sharedOfaCount;
} nvmlComputeInstanceProfileInfo_t;

typedef struct nvmlComputeInstanceProfileInfo_v2_st {
	unsigned int version;
	unsigned int id;
	unsigned int sliceCount;
	unsigned int instanceCount;
	unsigned int multiprocessorCount;
	unsigned int sharedCopyEngineCount;
	unsigned int sharedDecoderCount;
	unsigned int sharedEncoderCount;
	unsigned int sharedJpegCount;
	unsigned int sharedOfaCount;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
} nvmlComputeInstanceProfileInfo_v2_t;

typedef struct nvmlComputeInstanceProfileInfo_v3_st {
	unsigned int version;
	unsigned int id;
	unsigned int sliceCount;
	unsigned int instanceCount;
	unsigned int multiprocessorCount;
	unsigned int sharedCopyEngineCount;
	unsigned int sharedDecoderCount;
	unsigned int sharedEncoderCount;
	unsigned int sharedJpegCount;
	unsigned int sharedOfaCount;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	unsigned int capabilities;
} nvmlComputeInstanceProfileInfo_v3_t;

#define nvmlComputeInstanceProfileInfo_v2 NVML_STRUCT_VERSION_OF(nvmlComputeInstanceProfileInfo_v2_t, 2)
#define nvmlComputeInstanceProfileInfo_v3 NVML_STRUCT_VERSION_OF(nvmlComputeInstanceProfileInfo_v3_t, 3)

typedef struct nvmlComputeInstanceInfo_st {
	nvmlDevice_t device;
	nvmlGpuInstance_t gpuInstance;
	unsigned int id;
	unsigned int profileId;
	nvmlComputeInstancePlacement_t placement;
} nvmlComputeInstanceInfo_t;

/* The R450 layout used by the unversioned nvmlComputeInstanceGetInfo symbol. */
typedef struct nvmlComputeInstanceInfo_v1_st {
	nvmlDevice_t device;
	nvmlGpuInstance_t gpuInstance;
	unsigned int id;
	unsigned int profileId;
} nvmlComputeInstanceInfo_v1_t;

typedef struct nvmlDeviceAttributes_st {
	unsigned int multiprocessorCount;
	unsigned int sharedCopyEngineCount;
	unsigned int sharedDecoderCount;
	unsigned int sharedEncoderCount;
	unsigned int sharedJpegCount;
	unsigned int sharedOfaCount;
	unsigned int gpuInstanceSliceCount;
	unsigned int computeInstanceSliceCount;
	unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

/* The v1 symbol nvmlDeviceGetAttributes wrote only the first six fields (R450). */
typedef struct nvmlDeviceAttributes_v1_st {
	unsigned int multiprocessorCount;
	unsigned int sharedCopyEngineCount;
	unsigned int sharedDecoderCount;
	unsigned int sharedEncoderCount;
	unsigned int sharedJpegCount;
	unsigned int sharedOfaCount;
} nvmlDeviceAttributes_v1_t;

typedef struct nvmlProcessInfo_v2_st {
	unsigned int pid;
	unsigned long long usedGpuMemory; /* bytes */
	unsigned int gpuInstanceId;       /* 0xFFFFFFFF when not on a MIG device */
	unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t, nvmlProcessInfo_t;

typedef struct nvmlProcessInfo_v1_st {
	unsigned int pid;
	unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct nvmlMemory_st {
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlMemory_v2_st {
	unsigned int version;
	unsigned long long total;
	unsigned long long reserved;
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_v2_t;
#define nvmlMemory_v2 NVML_STRUCT_VERSION_OF(nvmlMemory_v2_t, 2)

typedef struct nvmlPciInfo_st {
	char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pciDeviceId;    /* (device id << 16) | vendor id */
	unsigned int pciSubSystemId; /* (subsystem device << 16) | subsystem vendor */
	char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

#define NVML_VALUE_NOT_AVAILABLE_U32 0xFFFFFFFFu

/* ---- layout checks (x86_64 / LP64 values from the ABI facts) ---------------------- */
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(nvmlReturn_t) == 4, "nvmlReturn_t is a 4-byte enum");
_Static_assert(sizeof(nvmlGpuInstancePlacement_t) == 8, "GI placement");
_Static_assert(sizeof(nvmlComputeInstancePlacement_t) == 8, "CI placement");
_Static_assert(sizeof(nvmlGpuInstanceProfileInfo_t) == 48, "GI profile v1");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_t, memorySizeMB) == 40, "GI profile v1 memory");
_Static_assert(sizeof(nvmlGpuInstanceProfileInfo_v2_t) == 152, "GI profile v2");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v2_t, id) == 4, "GI profile v2 id");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v2_t, ofaCount) == 40, "GI profile v2 ofa");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v2_t, memorySizeMB) == 48, "GI profile v2 memory");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v2_t, name) == 56, "GI profile v2 name");
_Static_assert(sizeof(nvmlGpuInstanceProfileInfo_v3_t) == 152, "GI profile v3");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, sliceCount) == 8, "GI profile v3 slices");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, ofaCount) == 36, "GI profile v3 ofa");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, memorySizeMB) == 40, "GI profile v3 memory");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, name) == 48, "GI profile v3 name");
_Static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, capabilities) == 144, "GI profile v3 caps");
_Static_assert(sizeof(nvmlGpuInstanceInfo_t) == 24, "GI info");
_Static_assert(offsetof(nvmlGpuInstanceInfo_t, id) == 8, "GI info id");
_Static_assert(offsetof(nvmlGpuInstanceInfo_t, profileId) == 12, "GI info profile");
_Static_assert(offsetof(nvmlGpuInstanceInfo_t, placement) == 16, "GI info placement");
_Static_assert(sizeof(nvmlComputeInstanceProfileInfo_t) == 36, "CI profile v1");
_Static_assert(sizeof(nvmlComputeInstanceProfileInfo_v2_t) == 136, "CI profile v2");
_Static_assert(offsetof(nvmlComputeInstanceProfileInfo_v2_t, name) == 40, "CI profile v2 name");
_Static_assert(sizeof(nvmlComputeInstanceProfileInfo_v3_t) == 140, "CI profile v3");
_Static_assert(offsetof(nvmlComputeInstanceProfileInfo_v3_t, capabilities) == 136, "CI profile v3 caps");
_Static_assert(sizeof(nvmlComputeInstanceInfo_t) == 32, "CI info v2");
_Static_assert(offsetof(nvmlComputeInstanceInfo_t, id) == 16, "CI info id");
_Static_assert(offsetof(nvmlComputeInstanceInfo_t, placement) == 24, "CI info placement");
_Static_assert(sizeof(nvmlComputeInstanceInfo_v1_t) == 24, "CI info v1");
_Static_assert(sizeof(nvmlDeviceAttributes_t) == 40, "attributes v2");
_Static_assert(offsetof(nvmlDeviceAttributes_t, gpuInstanceSliceCount) == 24, "attributes GI slices");
_Static_assert(offsetof(nvmlDeviceAttributes_t, memorySizeMB) == 32, "attributes memory");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "process info v2");
_Static_assert(offsetof(nvmlProcessInfo_v2_t, usedGpuMemory) == 8, "process memory");
_Static_assert(offsetof(nvmlProcessInfo_v2_t, gpuInstanceId) == 16, "process GI");
_Static_assert(offsetof(nvmlProcessInfo_v2_t, computeInstanceId) == 20, "process CI");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "process info v1");
_Static_assert(sizeof(nvmlMemory_t) == 24, "memory v1");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "memory v2");
_Static_assert(offsetof(nvmlMemory_v2_t, total) == 8, "memory v2 total");
_Static_assert(sizeof(nvmlPciInfo_t) == 68, "pci info");
_Static_assert(offsetof(nvmlPciInfo_t, domain) == 16, "pci domain");
_Static_assert(offsetof(nvmlPciInfo_t, pciDeviceId) == 28, "pci device id");
_Static_assert(offsetof(nvmlPciInfo_t, busId) == 36, "pci bus id");
_Static_assert(nvmlGpuInstanceProfileInfo_v2 == 0x02000098u, "GI profile v2 version word");
_Static_assert(nvmlGpuInstanceProfileInfo_v3 == 0x03000098u, "GI profile v3 version word");
_Static_assert(nvmlComputeInstanceProfileInfo_v2 == 0x02000088u, "CI profile v2 version word");
_Static_assert(nvmlComputeInstanceProfileInfo_v3 == 0x0300008Cu, "CI profile v3 version word");
_Static_assert(nvmlMemory_v2 == 0x02000028u, "memory v2 version word");
#endif

/* ---- function pointer types (one per symbol a client resolves with dlsym) ---------- */
#define MIG_NVML_FUNCTIONS(X)                                                                              \
	X(nvmlInit_v2, (void))                                                                             \
	X(nvmlInit, (void))                                                                                \
	X(nvmlInitWithFlags, (unsigned int flags))                                                         \
	X(nvmlShutdown, (void))                                                                            \
	X(nvmlSystemGetDriverVersion, (char *version, unsigned int length))                                \
	X(nvmlSystemGetNVMLVersion, (char *version, unsigned int length))                                  \
	X(nvmlSystemGetCudaDriverVersion, (int *cudaDriverVersion))                                        \
	X(nvmlSystemGetCudaDriverVersion_v2, (int *cudaDriverVersion))                                     \
	X(nvmlDeviceGetCount_v2, (unsigned int *deviceCount))                                              \
	X(nvmlDeviceGetCount, (unsigned int *deviceCount))                                                 \
	X(nvmlDeviceGetHandleByIndex_v2, (unsigned int index, nvmlDevice_t *device))                       \
	X(nvmlDeviceGetHandleByIndex, (unsigned int index, nvmlDevice_t *device))                          \
	X(nvmlDeviceGetHandleByUUID, (const char *uuid, nvmlDevice_t *device))                             \
	X(nvmlDeviceGetHandleByPciBusId_v2, (const char *pciBusId, nvmlDevice_t *device))                  \
	X(nvmlDeviceGetHandleByPciBusId, (const char *pciBusId, nvmlDevice_t *device))                     \
	X(nvmlDeviceGetName, (nvmlDevice_t device, char *name, unsigned int length))                       \
	X(nvmlDeviceGetUUID, (nvmlDevice_t device, char *uuid, unsigned int length))                       \
	X(nvmlDeviceGetPciInfo_v3, (nvmlDevice_t device, nvmlPciInfo_t *pci))                              \
	X(nvmlDeviceGetPciInfo_v2, (nvmlDevice_t device, nvmlPciInfo_t *pci))                              \
	X(nvmlDeviceGetPciInfo, (nvmlDevice_t device, nvmlPciInfo_t *pci))                                 \
	X(nvmlDeviceGetIndex, (nvmlDevice_t device, unsigned int *index))                                  \
	X(nvmlDeviceGetMinorNumber, (nvmlDevice_t device, unsigned int *minorNumber))                      \
	X(nvmlDeviceGetMemoryInfo, (nvmlDevice_t device, nvmlMemory_t *memory))                            \
	X(nvmlDeviceGetMemoryInfo_v2, (nvmlDevice_t device, nvmlMemory_v2_t *memory))                      \
	X(nvmlDeviceGetArchitecture, (nvmlDevice_t device, nvmlDeviceArchitecture_t *arch))                \
	X(nvmlDeviceGetCudaComputeCapability, (nvmlDevice_t device, int *major, int *minor))               \
	X(nvmlDeviceGetMigMode, (nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)) \
	X(nvmlDeviceSetMigMode, (nvmlDevice_t device, unsigned int mode, nvmlReturn_t *activationStatus))  \
	X(nvmlDeviceGetMaxMigDeviceCount, (nvmlDevice_t device, unsigned int *count))                      \
	X(nvmlDeviceGetMigDeviceHandleByIndex, (nvmlDevice_t device, unsigned int index, nvmlDevice_t *migDevice)) \
	X(nvmlDeviceIsMigDeviceHandle, (nvmlDevice_t device, unsigned int *isMigDevice))                   \
	X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle, (nvmlDevice_t migDevice, nvmlDevice_t *device))    \
	X(nvmlDeviceGetGpuInstanceId, (nvmlDevice_t device, unsigned int *id))                             \
	X(nvmlDeviceGetComputeInstanceId, (nvmlDevice_t device, unsigned int *id))                         \
	X(nvmlDeviceGetAttributes_v2, (nvmlDevice_t device, nvmlDeviceAttributes_t *attributes))           \
	X(nvmlDeviceGetAttributes, (nvmlDevice_t device, nvmlDeviceAttributes_v1_t *attributes))           \
	X(nvmlDeviceGetGpuInstanceProfileInfo,                                                             \
	  (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_t *info))                 \
	X(nvmlDeviceGetGpuInstanceProfileInfoV,                                                            \
	  (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t *info))              \
	X(nvmlDeviceGetGpuInstanceProfileInfoByIdV,                                                        \
	  (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstanceProfileInfo_v2_t *info))            \
	X(nvmlDeviceGetGpuInstanceRemainingCapacity,                                                       \
	  (nvmlDevice_t device, unsigned int profileId, unsigned int *count))                              \
	X(nvmlDeviceGetGpuInstancePossiblePlacements_v2,                                                   \
	  (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t *placements,            \
	   unsigned int *count))                                                                           \
	X(nvmlDeviceGetGpuInstancePossiblePlacements,                                                      \
	  (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t *placements,            \
	   unsigned int *count))                                                                           \
	X(nvmlDeviceCreateGpuInstance, (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t *gpuInstance)) \
	X(nvmlDeviceCreateGpuInstanceWithPlacement,                                                        \
	  (nvmlDevice_t device, unsigned int profileId, const nvmlGpuInstancePlacement_t *placement,       \
	   nvmlGpuInstance_t *gpuInstance))                                                                \
	X(nvmlGpuInstanceDestroy, (nvmlGpuInstance_t gpuInstance))                                         \
	X(nvmlDeviceGetGpuInstances,                                                                       \
	  (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t *gpuInstances, unsigned int *count)) \
	X(nvmlDeviceGetGpuInstanceById, (nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t *gpuInstance)) \
	X(nvmlGpuInstanceGetInfo, (nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info))            \
	X(nvmlGpuInstanceGetComputeInstanceProfileInfo,                                                    \
	  (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,                   \
	   nvmlComputeInstanceProfileInfo_t *info))                                                        \
	X(nvmlGpuInstanceGetComputeInstanceProfileInfoV,                                                   \
	  (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,                   \
	   nvmlComputeInstanceProfileInfo_v2_t *info))                                                     \
	X(nvmlGpuInstanceGetComputeInstanceRemainingCapacity,                                              \
	  (nvmlGpuInstance_t gpuInstance, unsigned int profileId, unsigned int *count))                    \
	X(nvmlGpuInstanceGetComputeInstancePossiblePlacements,                                             \
	  (nvmlGpuInstance_t gpuInstance, unsigned int profileId, nvmlComputeInstancePlacement_t *placements, \
	   unsigned int *count))                                                                           \
	X(nvmlGpuInstanceCreateComputeInstance,                                                            \
	  (nvmlGpuInstance_t gpuInstance, unsigned int profileId, nvmlComputeInstance_t *computeInstance)) \
	X(nvmlGpuInstanceCreateComputeInstanceWithPlacement,                                               \
	  (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                          \
	   const nvmlComputeInstancePlacement_t *placement, nvmlComputeInstance_t *computeInstance))       \
	X(nvmlComputeInstanceDestroy, (nvmlComputeInstance_t computeInstance))                             \
	X(nvmlGpuInstanceGetComputeInstances,                                                              \
	  (nvmlGpuInstance_t gpuInstance, unsigned int profileId, nvmlComputeInstance_t *computeInstances, \
	   unsigned int *count))                                                                           \
	X(nvmlGpuInstanceGetComputeInstanceById,                                                           \
	  (nvmlGpuInstance_t gpuInstance, unsigned int id, nvmlComputeInstance_t *computeInstance))        \
	X(nvmlComputeInstanceGetInfo_v2, (nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t *info)) \
	X(nvmlComputeInstanceGetInfo, (nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_v1_t *info)) \
	X(nvmlDeviceGetComputeRunningProcesses_v3, (nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos)) \
	X(nvmlDeviceGetComputeRunningProcesses_v2, (nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_v2_t *infos)) \
	X(nvmlDeviceGetComputeRunningProcesses, (nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_v1_t *infos))

#define MIG_NVML_DECLARE_FN_TYPE(name, params) typedef nvmlReturn_t(name##_fn) params;
MIG_NVML_FUNCTIONS(MIG_NVML_DECLARE_FN_TYPE)
#undef MIG_NVML_DECLARE_FN_TYPE
typedef const char *(nvmlErrorString_fn)(nvmlReturn_t result);

#ifdef __cplusplus
}
#endif
#endif /* MIG_NVML_ABI_H */
