#!/usr/bin/env python3
"""Export tiny PyTorch models (same architectures as the zoo: HF BERT and GPT-2, torchvision-style
ResNet and MobileNetV2) with torch.onnx.export at opset 14, and write torch's own outputs for fixed
inputs as an ONNX test_data_set next to each model:

    <out>/<name>/model.onnx
    <out>/<name>/test_data_set_0/{input_N.pb, output_N.pb}

The test build runs it into build/torch_exports (tests/CMakeLists.txt); the models are not kept in the
repository. docs/torch-exports.md describes them.

The modules are written here in plain torch (no transformers / torchvision package) so the script
runs with Debian's python3-torch:  /usr/bin/python3 scripts/export_models.py [--out DIR] [--only NAME]
Everything is seeded: re-running gives the same weights and inputs (the .onnx bytes may differ
between torch versions).
"""
import argparse
import math
import os
import sys
from typing import List

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"export_models: needs torch, onnx and numpy ({e}); try /usr/bin/python3", file=sys.stderr)
    sys.exit(77)

OPSET = 14
FINFO_MIN = torch.finfo(torch.float32).min


# ----------------------------------------------------------------------------------- BERT (HF)
class BertEmbeddings(nn.Module):
    def __init__(self, vocab, hidden, max_pos, type_vocab, eps):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.token_type_embeddings = nn.Embedding(type_vocab, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.register_buffer("position_ids", torch.arange(max_pos).expand((1, -1)))

    def forward(self, input_ids, token_type_ids):
        seq_length = input_ids.size()[1]
        position_ids = self.position_ids[:, 0:seq_length]
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(position_ids)
        return self.LayerNorm(e)


class BertSelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_size = heads, hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def transpose_for_scores(self, x):
        x = x.view(x.size()[:-1] + (self.heads, self.head_size))
        return x.permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q = self.transpose_for_scores(self.query(x))
        k = self.transpose_for_scores(self.key(x))
        v = self.transpose_for_scores(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        probs = F.softmax(scores + mask, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size()[:-2] + (self.heads * self.head_size,))


class BertLayer(nn.Module):
    def __init__(self, hidden, heads, ffn, eps):
        super().__init__()
        self.attention = BertSelfAttention(hidden, heads)
        self.attention_dense = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, ffn)
        self.output = nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x, mask):
        a = self.attention_norm(self.attention_dense(self.attention(x, mask)) + x)
        return self.output_norm(self.output(F.gelu(self.intermediate(a))) + a)


class TinyBert(nn.Module):
    def __init__(self, layers=2, hidden=64, heads=2, vocab=1000, max_pos=128, eps=1e-12):
        super().__init__()
        self.embeddings = BertEmbeddings(vocab, hidden, max_pos, 2, eps)
        self.layer = nn.ModuleList(BertLayer(hidden, heads, 4 * hidden, eps) for _ in range(layers))

    def forward(self, input_ids, attention_mask, token_type_ids):
        dtype = next(self.parameters()).dtype  # as HF: the mask in the weights' type (bert_tiny_bf16)
        mask = attention_mask[:, None, None, :].to(dtype)
        mask = (1.0 - mask) * torch.finfo(dtype).min
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.layer:
            x = layer(x, mask)
        return x


# -------------------------------------------------------------------------------- RoBERTa (HF)
class RobertaEmbeddings(nn.Module):
    def __init__(self, vocab, hidden, max_pos, eps, padding_idx=1):
        super().__init__()
        self.padding_idx = padding_idx
        self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=padding_idx)
        self.position_embeddings = nn.Embedding(max_pos, hidden, padding_idx=padding_idx)
        self.token_type_embeddings = nn.Embedding(1, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.register_buffer("token_type_ids", torch.zeros((1, max_pos), dtype=torch.long))

    def forward(self, input_ids):
        # create_position_ids_from_input_ids (past_key_values_length = 0)
        mask = input_ids.ne(self.padding_idx).int()
        position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx
        seq_length = input_ids.size()[1]
        token_type_ids = self.token_type_ids[:, :seq_length].expand(input_ids.size()[0], seq_length)
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(position_ids)
        return self.LayerNorm(e)


class TinyRoberta(nn.Module):
    def __init__(self, layers=2, hidden=64, heads=2, vocab=1000, max_pos=130, eps=1e-5):
        super().__init__()
        self.embeddings = RobertaEmbeddings(vocab, hidden, max_pos, eps)
        self.layer = nn.ModuleList(BertLayer(hidden, heads, 4 * hidden, eps) for _ in range(layers))

    def forward(self, input_ids, attention_mask):
        mask = attention_mask[:, None, None, :].to(torch.float32)
        mask = (1.0 - mask) * FINFO_MIN
        x = self.embeddings(input_ids)
        for layer in self.layer:
            x = layer(x, mask)
        return x


# ----------------------------------------------------------------------------- DistilBERT (HF)
class DistilAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.dim, self.n_heads = hidden, heads
        self.q_lin = nn.Linear(hidden, hidden)
        self.k_lin = nn.Linear(hidden, hidden)
        self.v_lin = nn.Linear(hidden, hidden)
        self.out_lin = nn.Linear(hidden, hidden)

    def forward(self, x, mask):
        bs, q_length, dim = x.size()
        k_length = x.size(1)
        dph = self.dim // self.n_heads

        def shape(t):
            return t.view(bs, -1, self.n_heads, dph).transpose(1, 2)

        q, k, v = shape(self.q_lin(x)), shape(self.k_lin(x)), shape(self.v_lin(x))
        q = q / math.sqrt(dph)
        scores = torch.matmul(q, k.transpose(2, 3))
        mask = (mask == 0).view(bs, 1, 1, k_length).expand_as(scores)
        scores = scores.masked_fill(mask, torch.tensor(FINFO_MIN))
        ctx = torch.matmul(F.softmax(scores, dim=-1), v)
        ctx = ctx.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * dph)
        return self.out_lin(ctx)


class DistilBlock(nn.Module):
    def __init__(self, hidden, heads, eps=1e-12):
        super().__init__()
        self.attention = DistilAttention(hidden, heads)
        self.sa_layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.lin1 = nn.Linear(hidden, 4 * hidden)
        self.lin2 = nn.Linear(4 * hidden, hidden)
        self.output_layer_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x, mask):
        sa = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.lin2(F.gelu(self.lin1(sa))) + sa)


class TinyDistilBert(nn.Module):
    def __init__(self, layers=2, hidden=64, heads=2, vocab=1000, max_pos=128, eps=1e-12):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.layer = nn.ModuleList(DistilBlock(hidden, heads, eps) for _ in range(layers))

    def forward(self, input_ids, attention_mask):
        seq_length = input_ids.size(1)
        position_ids = torch.arange(seq_length, dtype=torch.long).unsqueeze(0).expand_as(input_ids)
        x = self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(position_ids))
        for block in self.layer:
            x = block(x, attention_mask)
        return x


# ---------------------------------------------------------------------------------- GPT-2 (HF)
class Conv1D(nn.Module):
    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self, hidden, heads, max_pos):
        super().__init__()
        self.register_buffer("bias", torch.tril(torch.ones((max_pos, max_pos), dtype=torch.bool))
                             .view(1, 1, max_pos, max_pos))
        self.heads, self.head_dim, self.split_size = heads, hidden // heads, hidden
        self.c_attn = Conv1D(3 * hidden, hidden)
        self.c_proj = Conv1D(hidden, hidden)

    def _split_heads(self, t):
        return t.view(t.size()[:-1] + (self.heads, self.head_dim)).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.c_attn(x).split(self.split_size, dim=2)
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)
        w = torch.matmul(q, k.transpose(-1, -2))
        w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        ql, kl = q.size(-2), k.size(-2)
        causal = self.bias[:, :, kl - ql: kl, :kl]
        w = torch.where(causal, w, torch.full([], FINFO_MIN, dtype=w.dtype))
        w = F.softmax(w + mask, dim=-1)
        a = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous()
        a = a.view(a.size()[:-2] + (self.heads * self.head_dim,))
        return self.c_proj(a)


class GPT2Block(nn.Module):
    def __init__(self, hidden, heads, max_pos):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden, eps=1e-5)
        self.attn = GPT2Attention(hidden, heads, max_pos)
        self.ln_2 = nn.LayerNorm(hidden, eps=1e-5)
        self.c_fc = Conv1D(4 * hidden, hidden)
        self.c_proj = Conv1D(hidden, 4 * hidden)

    def forward(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.c_proj(gelu_new(self.c_fc(self.ln_2(x))))


class TinyGPT2(nn.Module):
    def __init__(self, layers=2, hidden=64, heads=2, vocab=1000, max_pos=128):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(max_pos, hidden)
        self.h = nn.ModuleList(GPT2Block(hidden, heads, max_pos) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden, eps=1e-5)

    def forward(self, input_ids, attention_mask):
        input_shape = input_ids.size()
        input_ids = input_ids.view(-1, input_shape[-1])
        position_ids = torch.arange(0, input_shape[-1], dtype=torch.long).unsqueeze(0)
        mask = attention_mask.view(input_shape[0], -1)[:, None, None, :].to(torch.float32)
        mask = (1.0 - mask) * FINFO_MIN
        x = self.wte(input_ids) + self.wpe(position_ids)
        for block in self.h:
            x = block(x, mask)
        x = self.ln_f(x)
        return x.view(input_shape + (x.size(-1),))


# ------------------------------------------------------------------ ResNet / MobileNetV2 (torchvision)
class Bottleneck(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


class TinyResNet(nn.Module):
    def __init__(self, width=8, blocks=(1, 1, 1, 1), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, inp = [], width
        for i, n in enumerate(blocks):
            stage = []
            for k in range(n):
                stage.append(Bottleneck(inp, width << i, 2 if (k == 0 and i > 0) else 1))
                inp = (width << i) * 4
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inp, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def conv_bn_relu6(inp, out, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, t):
        super().__init__()
        hidden = inp * t
        layers = [conv_bn_relu6(inp, hidden, 1, 1)] if t != 1 else []
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, hidden),
                   nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and inp == out

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class TinyMobileNetV2(nn.Module):
    """MobileNetV2 x0.25 with one block per stage (the zoo's mobilenet-tiny layout)."""

    def __init__(self, classes=10, last=64):
        super().__init__()
        feats, inp = [conv_bn_relu6(3, 8, 3, 2)], 8
        for t, c, s in [(1, 16, 1), (6, 24, 2), (6, 32, 2), (6, 64, 2), (6, 96, 1), (6, 160, 2), (6, 320, 1)]:
            out = max(8, int(c * 0.25 + 4) // 8 * 8)
            feats.append(InvertedResidual(inp, out, s, t))
            inp = out
        feats.append(conv_bn_relu6(inp, last, 1, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ------------------------------------------------------------------------------------ export
class TinyListLoop(nn.Module):
    """A scripted module with Python lists: torch.onnx.export writes the loop as a Loop whose body grows a
    sequence (SequenceEmpty, SequenceInsert), torch.cat / torch.stack of the list as ConcatFromSequence,
    and torch.split with a size as SplitToSequence (an RNN-style decode loop's export habit)."""

    def __init__(self, hidden=8):
        super().__init__()
        self.cell = nn.Linear(hidden, hidden)

    def forward(self, x, steps):
        outs: List[torch.Tensor] = []
        h = x
        for _ in range(int(steps)):
            h = torch.tanh(self.cell(h))
            outs.append(h)
        parts = torch.split(x, 3, dim=1)
        return torch.cat(outs, 0), torch.stack(outs, 1), parts[-1]


def init_transformer(m):
    for p in m.parameters():
        nn.init.normal_(p, 0.0, 0.02)
    for mod in m.modules():
        if isinstance(mod, nn.LayerNorm):
            nn.init.normal_(mod.weight, 1.0, 0.02)


def init_cnn(m):
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):  # trained-looking running statistics
            n = mod.num_features
            mod.weight.data = 1.0 + 0.1 * torch.randn(n, generator=g)
            mod.bias.data = 0.05 * torch.randn(n, generator=g)
            mod.running_mean = 0.05 * torch.randn(n, generator=g)
            mod.running_var = (1.0 + 0.1 * torch.randn(n, generator=g)).abs() + 0.05


def text_inputs(with_types):
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(2, 1000, (2, 16), generator=g, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 12:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask}
    if with_types:
        types = torch.zeros(2, 16, dtype=torch.long)
        types[:, 8:] = 1
        feeds["token_type_ids"] = types
    return feeds


def loop_inputs():
    g = torch.Generator().manual_seed(4)
    return {"x": torch.randn(2, 8, generator=g), "steps": torch.tensor(3, dtype=torch.int64)}


def image_inputs():
    g = torch.Generator().manual_seed(3)
    return {"input": torch.randn(2, 3, 32, 32, generator=g)}


def models():
    seq = {0: "batch", 1: "sequence"}
    return {
        "bert_tiny": (TinyBert, init_transformer, lambda: text_inputs(True), ["last_hidden_state"],
                      {"input_ids": seq, "attention_mask": seq, "token_type_ids": seq,
                       "last_hidden_state": seq}, True),
        "roberta_tiny": (TinyRoberta, init_transformer, lambda: text_inputs(False), ["last_hidden_state"],
                         {"input_ids": seq, "attention_mask": seq, "last_hidden_state": seq}, True),
        "distilbert_tiny": (TinyDistilBert, init_transformer, lambda: text_inputs(False), ["last_hidden_state"],
                            {"input_ids": seq, "attention_mask": seq, "last_hidden_state": seq}, True),
        "gpt2_tiny": (TinyGPT2, init_transformer, lambda: text_inputs(False), ["last_hidden_state"],
                      {"input_ids": seq, "attention_mask": seq, "last_hidden_state": seq}, True),
        "resnet_tiny": (TinyResNet, init_cnn, image_inputs, ["output"],
                        {"input": {0: "batch"}, "output": {0: "batch"}}, True),
        # Keeps BatchNormalization (last field False): the optimizer's folding must match torch.
        "resnet_tiny_bn": (TinyResNet, init_cnn, image_inputs, ["output"],
                           {"input": {0: "batch"}, "output": {0: "batch"}}, False),
        "mobilenet_tiny": (TinyMobileNetV2, init_cnn, image_inputs, ["output"],
                           {"input": {0: "batch"}, "output": {0: "batch"}}, True),
        # bert_tiny's weights in bfloat16 (`model.bfloat16()`): a narrow-float export with torch's own
        # bfloat16 outputs (torch 1.13 cannot run LayerNorm in float16 on a CPU, so not float16).
        "bert_tiny_bf16": (TinyBert, init_transformer, lambda: text_inputs(True), ["last_hidden_state"],
                           {"input_ids": seq, "attention_mask": seq, "token_type_ids": seq,
                            "last_hidden_state": seq}, True, {"dtype": torch.bfloat16}),
        # bert_tiny with its layers, attention and LayerNorms exported as ONNX model-local functions
        # (nested, with attributes: LayerNorm's eps): the graph is a few calls, the ops live in the bodies.
        "bert_tiny_functions": (TinyBert, init_transformer, lambda: text_inputs(True), ["last_hidden_state"],
                                {"input_ids": seq, "attention_mask": seq, "token_type_ids": seq,
                                 "last_hidden_state": seq}, True,
                                {"functions": {BertLayer, BertSelfAttention, nn.LayerNorm}}),
        # Scripted (torch.jit.script): lists become sequence values carried through a Loop.
        "list_loop_tiny": (TinyListLoop, init_cnn, loop_inputs, ["cat", "stack", "last_part"],
                           {"x": {0: "batch"}}, True, {"script": True}),
    }


def write_pb(t, name, path):
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: the raw 16-bit patterns
        raw = t.contiguous().view(torch.int16).numpy().tobytes()
        proto = onnx.helper.make_tensor(name, onnx.TensorProto.BFLOAT16, list(t.shape), raw, raw=True)
    else:
        proto = numpy_helper.from_array(t.numpy(), name)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def export(name, spec, out_root):
    cls, init, make_inputs, out_names, axes, fold = spec[:6]
    extra = spec[6] if len(spec) > 6 else {}
    dtype = extra.get("dtype")
    functions = extra.get("functions")
    torch.manual_seed(0)
    model = cls()
    init(model)
    model.eval()
    opset = OPSET
    if dtype is not None:
        model = model.to(dtype)
        opset = 15  # torch writes LayerNorm's Pow with a bfloat16 exponent, valid from Pow-15 on
    if functions:
        opset = 15  # export_modules_as_functions needs opset 15
    feeds = make_inputs()
    if extra.get("script"):
        model = torch.jit.script(model)
    d = os.path.join(out_root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    path = os.path.join(d, "model.onnx")
    tmp = path + ".tmp"
    with torch.no_grad():
        outs = model(*feeds.values())
        # Eval-mode export folds BatchNorm into Conv; PRESERVE (with the model in eval mode) keeps
        # inference-mode BatchNormalization nodes, which the optimizer's folding pass must handle.
        mode = torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE
        torch.onnx.export(model, tuple(feeds.values()), tmp, opset_version=opset, input_names=list(feeds),
                          output_names=out_names, dynamic_axes=axes, do_constant_folding=True,
                          training=mode, export_modules_as_functions=functions or False)
    onnx.checker.check_model(onnx.load(tmp), full_check=True)
    os.replace(tmp, path)
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    for i, (k, v) in enumerate(feeds.items()):
        write_pb(v, k, os.path.join(d, "test_data_set_0", f"input_{i}.pb"))
    for i, (k, v) in enumerate(zip(out_names, outs)):
        write_pb(v, k, os.path.join(d, "test_data_set_0", f"output_{i}.pb"))
    print(f"{name}: {os.path.getsize(path)} bytes, outputs {[tuple(o.shape) for o in outs]}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "build", "torch_exports"))
    ap.add_argument("--only", action="append", help="export only this model (repeatable)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, opset {OPSET}")
    for name, spec in models().items():
        if args.only and name not in args.only:
            continue
        export(name, spec, args.out)


if __name__ == "__main__":
    main()
