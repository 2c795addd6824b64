#!/usr/bin/env python3
"""Export torchvision's own model classes (Debian's python3-torchvision, no pretrained weights) with
torch.onnx.export at opset 17, and write torch's outputs for fixed inputs as an ONNX test_data_set:

    <out>/<name>/model.onnx
    <out>/<name>/test_data_set_0/{input_N.pb, output_N.pb}

Where scripts/export_models.py re-writes upstream modules in plain torch, these are the upstream
modules themselves, so the graphs carry whatever torchvision's code and torch's exporter emit:
HardSwish and squeeze-excite blocks, channel shuffles, shifted-window attention (Roll), GridSample
correlation lookups, and the detection post-processing (TopK, NonMaxSuppression, Gather). The test
build runs it into build/vision_exports (tests/CMakeLists.txt); docs/torch-exports.md lists them.

Sizes are cut down (small images, and small widths and depths where the class takes them) so the
exports and their checks stay quick. Weights are re-drawn from a seeded generator with a spread that
keeps activations of order one: torchvision's own init leaves BatchNorm as identity and zeroes some
heads, which would let wrong arithmetic pass unseen (and its uniform detection scores tie, leaving
the order of the boxes to the sort). RAFT keeps its own init, under which its flow stays finite.

    /usr/bin/python3 scripts/export_vision_models.py [--out DIR] [--only NAME] [--list] [--full]

--full exports the full-size classifiers instead (FULL_MODELS: ResNet-50 to ViT-B/16 at 224x224), for
scripts/peer_ort.py; they take minutes and ~1 GB, and no test uses them.
Exit 77 when torch or torchvision is missing (the tests are then left out).
"""
import argparse
import os
import sys
import warnings

try:
    import torch
    import torchvision
    import onnx
    from torchvision import models as tvm
    from torchvision.models import convnext, densenet, swin_transformer, vision_transformer
    from torchvision.models import detection, optical_flow, segmentation
    from export_models import write_pb  # scripts/export_models.py, beside this script
except ImportError as e:  # pragma: no cover
    print(f"export_vision_models: needs torch, torchvision and onnx ({e}); try /usr/bin/python3 "
          "after scripts/setup.sh --exports", file=sys.stderr)
    sys.exit(77)

OPSET = 17


def redraw(model, seed=1):
    """Seeded weights of order-one activations; BatchNorm statistics away from the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            bn = isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d))
            ln = isinstance(mod, (torch.nn.LayerNorm, torch.nn.GroupNorm)) or "norm" in type(mod).__name__.lower()
            for name, p in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
                if not p.is_floating_point():
                    continue
                if bn:
                    scale = name in ("weight", "running_var")
                    p.copy_(torch.rand(p.shape, generator=g) + 0.5 if scale else torch.randn(p.shape, generator=g) * 0.1)
                elif ln:
                    p.copy_((1.0 if name == "weight" else 0.0) + torch.randn(p.shape, generator=g) * 0.1)
                elif p.dim() >= 2:
                    p.copy_(torch.randn(p.shape, generator=g) * (1.5 / p[0].numel()) ** 0.5)
                else:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)


class FlowLast(torch.nn.Module):
    """RAFT returns every refinement step; the export takes the last, after a fixed number of updates."""

    def __init__(self, raft, updates):
        super().__init__()
        self.raft, self.updates = raft, updates

    def forward(self, a, b):
        return self.raft(a, b, num_flow_updates=self.updates)[-1]


class FirstDetection(torch.nn.Module):
    """Detection models take a list of images and return a list of dicts; export one image's tensors."""

    def __init__(self, det, keys):
        super().__init__()
        self.det, self.keys = det, keys

    def forward(self, image):
        out = self.det([image])[0]
        return tuple(out[k] for k in self.keys)


def image(n, hw, seed):
    return torch.randn(n, 3, hw, hw, generator=torch.Generator().manual_seed(seed))


def models():
    """name -> (builder, inputs, output names, dynamic batch, redraw weights)"""
    cn = convnext.CNBlockConfig
    return {
        "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(weights=None, num_classes=10), lambda: [image(2, 64, 0)],
                               ["logits"], True, True),
        "efficientnet_b0": (lambda: tvm.efficientnet_b0(weights=None, num_classes=10), lambda: [image(2, 64, 1)], ["logits"],
                            True, True),
        "shufflenet_v2_x0_5": (lambda: tvm.shufflenet_v2_x0_5(weights=None, num_classes=10), lambda: [image(2, 64, 2)],
                               ["logits"], True, True),
        "squeezenet1_1": (lambda: tvm.squeezenet1_1(weights=None, num_classes=10), lambda: [image(2, 64, 3)], ["logits"],
                          True, True),
        "regnet_y_400mf": (lambda: tvm.regnet_y_400mf(weights=None, num_classes=10), lambda: [image(2, 64, 4)], ["logits"],
                           True, True),
        "googlenet": (lambda: tvm.googlenet(weights=None, aux_logits=False, init_weights=False,
                                             num_classes=10),
                      lambda: [image(2, 64, 5)], ["logits"], True, True),
        "densenet_small": (lambda: densenet.DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16,
                                                     num_classes=10), lambda: [image(2, 64, 6)], ["logits"], True, True),
        "convnext_small": (lambda: convnext.ConvNeXt([cn(16, 32, 1), cn(32, 64, 1), cn(64, None, 1)], num_classes=10),
                           lambda: [image(2, 64, 7)], ["logits"], True, True),
        "swin_small": (lambda: swin_transformer.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2],
                                                                num_heads=[2, 4], window_size=[4, 4], num_classes=10),
                       lambda: [image(2, 32, 8)], ["logits"], True, True),
        "vit_small": (lambda: vision_transformer.VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                                                   num_heads=2, hidden_dim=32, mlp_dim=64,
                                                                   num_classes=10),
                      lambda: [image(2, 32, 9)], ["logits"], True, True),
        "lraspp_mobilenet_v3_large": (
            lambda: SegOut(segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=5)),
            lambda: [image(1, 64, 10)], ["out"], True, True),
        "raft_small": (lambda: FlowLast(optical_flow.raft_small(weights=None), 2),
                       lambda: [torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(11)),
                                torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(12))],
                       ["flow"], False, False),
        "ssdlite320_mobilenet_v3_large": (
            lambda: FirstDetection(detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                           score_thresh=0.0,
                                                                           detections_per_img=12),
                                   ["boxes", "scores", "labels"]),
            lambda: [torch.rand(3, 160, 160, generator=torch.Generator().manual_seed(13))],
            ["boxes", "scores", "labels"], False, True),
    }


# Full-size classifiers for speed comparisons (scripts/peer_ort.py), not for the tests: the classes'
# defaults (1000 classes, 224x224, batch 1 with a dynamic batch axis), weights re-drawn as above.
FULL_MODELS = ["resnet50", "resnext50_32x4d", "densenet121", "googlenet", "squeezenet1_1", "mobilenet_v2",
               "mobilenet_v3_large", "mnasnet1_0", "efficientnet_b0", "shufflenet_v2_x1_0", "regnet_y_800mf",
               "convnext_tiny", "swin_t", "vit_b_16"]


def full_models():
    """The full-size set: name -> spec, as models() (--full)."""
    def build(name):
        kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
        return lambda: getattr(tvm, name)(weights=None, **kw)
    return {n: (build(n), (lambda seed: lambda: [image(1, 224, seed)])(20 + i), ["logits"], True, True)
            for i, n in enumerate(FULL_MODELS)}


class SegOut(torch.nn.Module):
    """Segmentation models return a dict; export its 'out' tensor."""

    def __init__(self, seg):
        super().__init__()
        self.seg = seg

    def forward(self, x):
        return self.seg(x)["out"]


def export(name, spec, out_root):
    build, make_inputs, out_names, dynamic, do_redraw = spec
    torch.manual_seed(0)
    model = build().eval()
    if do_redraw:
        redraw(model)
    feeds = make_inputs()
    in_names = ["input"] if len(feeds) == 1 else [f"input_{i}" for i in range(len(feeds))]
    axes = {n: {0: "batch"} for n in in_names + out_names} if dynamic else None
    d = os.path.join(out_root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    path = os.path.join(d, "model.onnx")
    tmp = path + ".tmp"
    with torch.no_grad():
        outs = model(*feeds)
    # Outside no_grad: under it torch's fast path turns nn.MultiheadAttention into a fused op that has
    # no ONNX export.
    torch.onnx.export(model, tuple(feeds), tmp, opset_version=OPSET, input_names=in_names,
                      output_names=out_names, dynamic_axes=axes, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(tmp), full_check=True)
    os.replace(tmp, path)
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    if "scores" in out_names:
        # Detections come sorted by score: two scores within rounding of each other may swap places
        # in any other correct implementation, so the test data must keep them apart.
        s = outs[out_names.index("scores")].double()
        gap = float(((s[:-1] - s[1:]) / s[1:].abs().clamp_min(1e-30)).min()) if s.numel() > 1 else 1.0
        if gap < 1e-4:
            sys.exit(f"export_vision_models: {name}: two detection scores are {gap:.1e} apart (relative); "
                     "pick other inputs or fewer detections")
    for i, (n, v) in enumerate(zip(in_names, feeds)):
        write_pb(v.detach(), n, os.path.join(d, "test_data_set_0", f"input_{i}.pb"))
    for i, (n, v) in enumerate(zip(out_names, outs)):
        write_pb(v.detach(), n, os.path.join(d, "test_data_set_0", f"output_{i}.pb"))
    print(f"{name}: {os.path.getsize(path)} bytes, outputs {[tuple(o.shape) for o in outs]}", flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "build", "vision_exports"))
    ap.add_argument("--only", action="append", help="export only this model (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    ap.add_argument("--full", action="store_true",
                    help="the full-size classifiers (224x224, 1000 classes) for speed comparisons instead, into "
                         "build/vision_full unless --out is given")
    args = ap.parse_args()
    specs = full_models() if args.full else models()
    if args.full and args.out == ap.get_default("out"):
        args.out = os.path.join(here, "..", "build", "vision_full")
    if args.list:
        print("\n".join(specs))
        return
    unknown = [n for n in args.only or [] if n not in specs]
    if unknown:
        sys.exit(f"export_vision_models: unknown model(s) {unknown}; --list shows them")
    torch.set_num_threads(1)
    # The exporter's tracer warns about Python values frozen into the trace (image sizes, anchor counts):
    # the sizes here are fixed, and onnx.checker plus the verify tests are the checks that count.
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnx {onnx.__version__}, "
          f"opset {OPSET}")
    for name, spec in specs.items():
        if not args.only or name in args.only:
            export(name, spec, args.out)


if __name__ == "__main__":
    main()
