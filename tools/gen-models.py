#!/usr/bin/env python3
"""Generate sim/models_data.c, the simulator's GPU tables, from the project's hardware facts.

Usage: tools/gen-models.py [FACTS_JSON [MORE_FACTS_JSON]] > sim/models_data.c

The facts files (shared/facts/mig-profiles.json and mig-profiles-more.json) are the truth for
every value they give. Where they mark a value unknown (null) or inferred, the choice made here
is applied and listed in ASSUMPTIONS, which docs/simulator.md repeats. Two models are not in the
facts and are built here from documented assumptions: the pre-production GB200 whose driver
named its profiles 1g.24gb ... 3g.95gb, 4g.95gb, 7g.189gb (DERIVED), and a GPU without MIG
(NON_MIG). The output is committed, so building needs no Python and no facts file.
"""
import copy
import json
import sys

# facts key -> (simulator key, aliases accepted in MIGSIM_GPUS, mig mode survives a GPU reset)
MODELS = [
    ("A100-SXM4-40GB", "A100-SXM4-40GB", ["A100-40GB", "A100"], True),
    ("A100-SXM4-80GB / A100 80GB PCIe", "A100-SXM4-80GB", ["A100-80GB"], True),
    ("A30-24GB", "A30", ["A30-24GB"], True),
    ("H100-SXM5-80GB", "H100-SXM5-80GB", ["H100-80GB", "H100", "H100-SXM"], False),
    ("H100-PCIe-80GB", "H100-PCIE-80GB", ["H100-PCIE"], False),
    ("H100-NVL-94GB", "H100-NVL", ["H100-NVL-94GB"], False),
    ("H200-SXM-141GB", "H200", ["H200-SXM-141GB", "H200-141GB"], False),
    ("B200", "B200", ["B200-180GB"], False),
    ("RTX-PRO-6000-Blackwell", "RTX-PRO-6000", ["RTX-PRO-6000-BLACKWELL", "RTXPRO6000"], False),
    ("GH200-144GB-HBM3e", "GH200-144GB", ["GH200-144G-HBM3E", "GH200-144G"], False),
    ("GH200-96GB (H100 96GB on GH200)", "GH200-96GB", ["GH200", "GH200-480GB", "H100-96GB"], False),
    ("GB200", "GB200", ["GB200-186GB"], False),
    # from mig-profiles-more.json
    ("GB300", "GB300", ["GB300-278GB"], False),
    ("B300-SXM6-AC", "B300", ["B300-SXM6-AC", "B300-269GB"], False),
    ("H20-96GB", "H20", ["H20-96GB"], False),
    ("PG506-96GB (GA100)", "PG506-96GB", ["PG506-232", "A100-96GB"], True),
    # built here (DERIVED, NON_MIG)
    ("GB200-189GB", "GB200-189GB", ["GB200-PREPRODUCTION"], False),
    ("DGX-Display", "DGX-Display", ["NON-MIG", "DISPLAY"], False),
]

# GPU-level values the facts leave null, with the reason (listed in ASSUMPTIONS).
GPU_FILL = {
    "GB200": {"total_memory_mib_nvidia_smi": (189952, "185.5 GiB, so that the 7g is named 7g.186gb as NVIDIA's config names it"),
              "total_sm_count": (152, "as GB300 (the 1g and 2g SM counts, 18 and 38, are GB300's)")},
}

# GPUs whose profile memory sizes the facts leave null, taken from a GPU with the same total
# memory and profile names.
MEMORY_FROM = {"GH200-96GB (H100 96GB on GH200)": "H20-96GB"}

# GPUs whose GI profiles the facts give without compute instance profiles: those of a GPU
# with the same slice layout are used.
CI_FROM = {"GB200": "B200"}

# The GB200 that NVIDIA's default mig-parted config still names with 3g.95gb, 4g.95gb and
# 7g.189gb: the HGX GB200 of gpu-operator PR #1303 (March 2025, "[MIG] add support for HGX
# GB200"), whose nvidia-smi mig -lgip listed 1g.24gb (20.00 GiB), 1g.24gb+me, 1g.47gb (45.50 GiB)
# and 2g.47gb; later production boards and drivers name the same profiles 1g.23gb ... 7g.186gb
# (mig-parted issue #227, PR #228). Same PCI id, ids, placements and SMs as GB200.
DERIVED = {
    "GB200-189GB": ("GB200", {
        "names": {"1g.23gb": "1g.24gb", "1g.23gb+me": "1g.24gb+me", "3g.93gb": "3g.95gb", "4g.93gb": "4g.95gb",
                  "7g.186gb": "7g.189gb"},
        "memory": {"1g.24gb": 20480, "1g.24gb+me": 20480},
        "total_memory_mib_nvidia_smi": 193024,
    }),
}

# A GPU without MIG, such as a DGX Station's display GPU (0x1FB010DE in NVIDIA's DGX Station
# example config): nvmlDeviceGetMigMode answers NOT_SUPPORTED.
NON_MIG = {
    "DGX-Display": {"nvml_name": "NVIDIA DGX Display", "pci_device_id": "0x1FB010DE", "nvml_device_arch": 6,
                    "cuda_compute_capability": "7.5", "total_memory_mib_nvidia_smi": 4096, "total_sm_count": 14},
}

# PCI subsystem ids are not in the facts; the A100 value is the facts' own example.
SUBSYSTEM = {"A100-SXM4-40GB": 0x145F10DE}

ASSUMPTIONS = []


def note(text):
    if text not in ASSUMPTIONS:
        ASSUMPTIONS.append(text)


def fill_gi(model, prof, by_name):
    """Replace the facts' unknown (null) GI values with documented choices."""
    name = prof["name"]
    if prof["memory_mib"] is None:
        # Hopper pattern: each doubling of the memory span adds 256 MiB (H100 2g 20096, 3g 40448, 7g 81152).
        if name.startswith(("3g.", "4g.")):
            base = next(p for p in by_name.values() if p["name"].startswith("2g.") and p["memory_mib"])
            prof["memory_mib"] = 2 * base["memory_mib"] + 256
        elif name.startswith("7g."):
            half = next(p for p in by_name.values() if p["name"].startswith("3g."))
            if half["memory_mib"] is None:
                fill_gi(model, half, by_name)
            prof["memory_mib"] = 2 * half["memory_mib"] + 256
        note("%s %s memory: %d MiB (Hopper rule: twice the next smaller span + 256 MiB)" % (model, name, prof["memory_mib"]))
    if prof["sm_count"] is None:
        one = next(p for p in by_name.values() if p["name"].startswith("1g.") and p["nvml_const_value"] == 0)
        if name.startswith("7g."):
            prof["sm_count"] = {"B200": 148, "GB200": 152, "GB200-189GB": 152}.get(model, 7 * one["sm_count"])
            note("%s %s SMs: %d (all SMs of the GPU, as a Hopper 7g has)" % (model, name, prof["sm_count"]))
        else:
            prof["sm_count"] = prof["slice_count"] * one["sm_count"]
            note("%s %s SMs: %d (slices x SMs of a 1g)" % (model, name, prof["sm_count"]))
    if prof.get("copy_engines") is None:
        one = next(p for p in by_name.values() if p["name"].startswith("1g.") and p["nvml_const_value"] == 0)
        prof["copy_engines"] = prof["slice_count"] * one["copy_engines"]
        note("%s %s copy engines: %d (a 1g's per compute slice)" % (model, name, prof["copy_engines"]))
    for field in ("decoders", "jpeg"):
        if prof[field] is None:
            prof[field] = prof["slice_count"]
            note("%s %s %s: %d (one per compute slice, as the 1g and 2g rows have)" % (model, name, field, prof[field]))


def fill_ci(model, gi, ci, one_slice_sms):
    if ci["sm_count"] is None:
        if ci["slice_count"] == gi["slice_count"]:
            ci["sm_count"] = gi["sm_count"]
        else:
            ci["sm_count"] = ci["slice_count"] * one_slice_sms
        note("%s CI %s SMs: %d" % (model, ci["name"], ci["sm_count"]))
    for src, dst in (("decoders", "shared_decoders"), ("jpeg", "shared_jpeg")):
        if ci[dst] is None:
            ci[dst] = gi[src]


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def placements(pl):
    return ", ".join("{%d, %d}" % (s, n) for s, n in pl)


def ci_name(gi, ci):
    """The CI profile name as NVML writes it, without the 'MIG ' prefix."""
    if ci.get("nvml_profile_name_string") and "(" not in ci["name"]:
        return ci["nvml_profile_name_string"][4:]
    # A 1g REV2 GPU instance answers two 1-slice CI profiles (facts 7.5). The REV1 one has all the
    # GI's SMs and carries the GI's name; the plain one has a 1g's SMs and is named like a partial CI.
    if ci["id"] == 7:
        return gi["name"]
    return "1c." + gi["name"]


def derive(gpus):
    """Add the DERIVED and NON_MIG models to gpus (keyed by facts key)."""
    for key, (base, how) in DERIVED.items():
        g = copy.deepcopy(gpus[base])
        g["key"] = key
        for p in g["gi_profiles"]:
            old = p["name"]
            p["name"] = how["names"].get(old, old)
            if p["name"] in how["memory"]:
                p["memory_mib"] = how["memory"][p["name"]]
            for c in p.get("ci_profiles", []):
                for a, b in how["names"].items():
                    c["name"] = c["name"].replace(a, b)
                    if c.get("nvml_profile_name_string"):
                        c["nvml_profile_name_string"] = c["nvml_profile_name_string"].replace(a, b)
        g["total_memory_mib_nvidia_smi"] = how["total_memory_mib_nvidia_smi"]
        note("%s: the pre-production GB200 naming (gpu-operator PR #1303): %s; 1g.24gb memory 20480 MiB "
             "(20.00 GiB in that capture); total memory %d MiB so that the 7g is named 7g.189gb; everything else "
             "as GB200" % (key, ", ".join("%s for %s" % (b, a) for a, b in how["names"].items()),
                           how["total_memory_mib_nvidia_smi"]))
        gpus[key] = g
    for key, v in NON_MIG.items():
        g = dict(v)
        g.update({"key": key, "sm_count_in_mig_full": None, "placement_grid_units": 0, "compute_slices": 0,
                  "max_gpu_instances": 0, "max_mig_device_count": 0, "gi_profiles": []})
        note("%s: a GPU without MIG (%s, %s): %d MiB, %d SMs, Turing; the values are a display GPU's, "
             "chosen, not sourced" % (key, v["nvml_name"], v["pci_device_id"], v["total_memory_mib_nvidia_smi"],
                                     v["total_sm_count"]))
        gpus[key] = g


def emit(facts):
    gpus = {g["key"]: g for g in facts["gpus"]}
    for key, fill in GPU_FILL.items():
        for field, (value, why) in fill.items():
            if gpus[key].get(field) is None:
                gpus[key][field] = value
                note("%s %s: %d (%s)" % (key, field, value, why))
    for key, src in MEMORY_FROM.items():
        same = {p["name"]: p["memory_mib"] for p in gpus[src]["gi_profiles"]}
        for p in gpus[key]["gi_profiles"]:
            if p["memory_mib"] is None and same.get(p["name"]):
                p["memory_mib"] = same[p["name"]]
                note("%s %s memory: %d MiB (as %s, the same 97871 MiB Hopper with the same profile names)" % (
                    key, p["name"], p["memory_mib"], src))
    for key, src in CI_FROM.items():
        for p in gpus[key]["gi_profiles"]:
            if p.get("ci_profiles"):
                continue
            like = next(q for q in gpus[src]["gi_profiles"] if q["slice_count"] == p["slice_count"] and q.get("ci_profiles"))
            p["ci_profiles"] = copy.deepcopy(like["ci_profiles"])
            for c in p["ci_profiles"]:
                c["name"] = c["name"].replace(like["name"], p["name"])
                if c.get("nvml_profile_name_string"):
                    c["nvml_profile_name_string"] = c["nvml_profile_name_string"].replace(like["name"], p["name"])
                if c["slice_count"] == p["slice_count"]:
                    c["sm_count"] = None  # the GI's own SMs (fill_ci)
            note("%s GI %s: compute instance profiles as %s's %s (ids, slices, placements), named for this GI" % (
                key, p["name"], src, like["name"]))
    derive(gpus)
    out = []
    w = out.append
    w("/* Generated by tools/gen-models.py from shared/facts/mig-profiles.json and mig-profiles-more.json. Do not edit. */")
    w('#include "models.h"')
    w("")
    for fkey, key, aliases, persists in MODELS:
        g = gpus[fkey]
        by_name = {p["name"]: p for p in g["gi_profiles"]}
        for p in g["gi_profiles"]:
            fill_gi(key, p, by_name)
        w("static const char *const aliases_%s[] = {%s, NULL};" % (key.replace("-", "_"), ", ".join(c_str(a) for a in aliases)))
    w("")
    w("const struct sim_model sim_models[] = {")
    for fkey, key, aliases, persists in MODELS:
        g = gpus[fkey]
        cc = g["cuda_compute_capability"].split(".")
        dev = int(g["pci_device_id"], 16)
        sub = SUBSYSTEM.get(key)
        if sub is None:
            sub = dev
            note("%s PCI subsystem id: 0x%08X (the device id; not in the facts)" % (key, sub))
        total_sms = g.get("sm_count_in_mig_full") or g["total_sm_count"]
        w("\t{")
        w("\t\t.key = %s," % c_str(key))
        w("\t\t.aliases = aliases_%s," % key.replace("-", "_"))
        w("\t\t.name = %s," % c_str(g["nvml_name"]))
        w("\t\t.pci_device_id = 0x%08X," % dev)
        w("\t\t.pci_subsystem_id = 0x%08X," % sub)
        w("\t\t.arch = %d," % g["nvml_device_arch"])
        w("\t\t.cc_major = %s, .cc_minor = %s," % (cc[0], cc[1]))
        w("\t\t.memory_mib = %d," % g["total_memory_mib_nvidia_smi"])
        w("\t\t.total_sms = %d," % total_sms)
        w("\t\t.grid = %d," % g["placement_grid_units"])
        w("\t\t.compute_slices = %d," % g["compute_slices"])
        w("\t\t.max_gpu_instances = %d," % g["max_gpu_instances"])
        w("\t\t.max_mig_devices = %d," % g["max_mig_device_count"])
        w("\t\t.mig_mode_survives_reset = %s," % ("true" if persists else "false"))
        w("\t\t.nprofiles = %d," % len(g["gi_profiles"]))
        if not g["gi_profiles"]:  # a GPU without MIG
            w("\t},")
            continue
        w("\t\t.profiles = {")
        one = next((p for p in g["gi_profiles"] if p["nvml_const_value"] == 0), None)
        for p in g["gi_profiles"]:
            caps = 0
            if "+gfx" in p["name"]:
                caps |= 2
            if p["is_p2p_supported"]:
                caps |= 1
            media = "SIM_MEDIA_ALL" if p["name"].endswith("+me.all") else (
                "SIM_MEDIA_NONE" if p["name"].endswith("-me") else "SIM_MEDIA_SHARED")
            w("\t\t\t{")
            w("\t\t\t\t.name = %s, .index = %d, .id = %d," % (c_str(p["name"]), p["nvml_const_value"], p["profile_id"]))
            w("\t\t\t\t.slices = %d, .instance_count = %d, .sms = %d, .memory_mib = %d," % (
                p["slice_count"], p["instance_count"], p["sm_count"], p["memory_mib"]))
            w("\t\t\t\t.ce = %d, .dec = %d, .enc = %d, .jpeg = %d, .ofa = %d," % (
                p["copy_engines"], p["decoders"], p["encoders"], p["jpeg"], p["ofa"]))
            w("\t\t\t\t.p2p = %d, .caps = %d, .media = %s," % (p["is_p2p_supported"], caps, media))
            w("\t\t\t\t.nplacements = %d, .placements = {%s}," % (len(p["placements"]), placements(p["placements"])))
            cis = p.get("ci_profiles", [])
            w("\t\t\t\t.nci = %d," % len(cis))
            w("\t\t\t\t.ci = {")
            for c in cis:
                fill_ci(key, p, c, one["sm_count"])
                default = c.get("is_default_for_nvidia_smi_C")
                if default is None:
                    default = c["id"] == 7
                    note("%s GI %s: CI profile %d is %sthe default for -C" % (key, p["name"], c["id"], "" if default else "not "))
                ci_caps = 1 if "+gfx" in p["name"] else 0
                w("\t\t\t\t\t{.name = %s, .id = %d, .slices = %d, .instance_count = %d, .sms = %d," % (
                    c_str(ci_name(p, c)), c["id"], c["slice_count"], c["instance_count"], c["sm_count"]))
                w("\t\t\t\t\t .ce = %d, .dec = %d, .enc = %d, .jpeg = %d, .ofa = %d, .caps = %d, .is_default = %s," % (
                    c["shared_copy_engines"], c["shared_decoders"], c["shared_encoders"], c["shared_jpeg"],
                    c["shared_ofa"], ci_caps, "true" if default else "false"))
                w("\t\t\t\t\t .nplacements = %d, .placements = {%s}}," % (len(c["placements"]), placements(c["placements"])))
            w("\t\t\t\t},")
            w("\t\t\t},")
        w("\t\t},")
        w("\t},")
    w("};")
    w("")
    w("const size_t sim_nmodels = sizeof(sim_models) / sizeof(sim_models[0]);")
    w("")
    w("/* Values the facts leave unknown, and the choice made for each:")
    for a in ASSUMPTIONS:
        w(" *  - %s" % a)
    w(" */")
    return "\n".join(out) + "\n"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/facts/mig-profiles.json"
    more = sys.argv[2] if len(sys.argv) > 2 else path.replace("mig-profiles.json", "mig-profiles-more.json")
    with open(path) as f:
        facts = json.load(f)
    with open(more) as f:
        facts["gpus"] += json.load(f)["gpus"]
    sys.stdout.write(emit(facts))


if __name__ == "__main__":
    main()
