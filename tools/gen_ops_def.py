#!/usr/bin/python3
"""Generates src/ir/ops.def, quantgraph's operator table, from PyTorch's own registry.

Run with Debian's torch 1.13 (not the pyenv python3):

    /usr/bin/python3 tools/gen_ops_def.py            # rewrites src/ir/ops.def and
                                                     # tests/fixtures/schema/seed_ops.txt
    /usr/bin/python3 tools/gen_ops_def.py --check    # exit 1 if the committed files differ

Every schema row is `str(schema)` for a schema of `torch._C._jit_get_all_schemas()`, verbatim,
so argument names, types, defaults and overload names are PyTorch's. Which op *names* are
selected (all overloads of a selected name are kept, in PyTorch's registration order):

  1. every op named in the seed test file (test_quantize_jit.py: FileCheck patterns, node
     kinds it compares against) -- also written to tests/fixtures/schema/seed_ops.txt so the C
     test can check that every one of them is known;
  2. every op the graph-mode quantization passes match or emit (QUANT_PASS_OPS below, from
     torch/csrc/jit/passes/quantization/{helper,insert_observers,insert_quant_dequant,
     finalize,quantization_patterns}.cpp) and the whole quantized::, _quantized:: and
     quantization:: namespaces;
  3. every node kind of torchvision ResNet-18, ResNet-50, MobileNetV2 and an
     nn.TransformerEncoderLayer, scripted and traced, in their graphs and inlined graphs, and
     of a scripted ResNet-18 after prepare_jit (observer forward methods inlined);
  4. the list/tuple/dict/number/string/fork ops TorchScript programs use (SCRIPT_OPS);
  5. prim ops PyTorch handles specially without a registered schema (SPECIAL_OPS): they get a
     row "prim::If(...) -> ..." with QG_OP_SPECIAL.

Flags: QG_OP_SPECIAL (no schema in PyTorch), QG_OP_QUANTIZED (quantized namespaces, and aten
ops that create or consume quantized tensors), QG_OP_INPLACE (first argument is written:
alias annotation with '!' on `self`/the first argument, or a name ending in '_'),
QG_OP_NONDET (random ops and dropout).
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_DEF = os.path.join(ROOT, "src", "ir", "ops.def")
SEED_OPS = os.path.join(ROOT, "tests", "fixtures", "schema", "seed_ops.txt")
SEED_FILE = "/work/shared/seed/000_a0593992d1cd5d66.txt"

# Namespaces taken whole.
WHOLE_NAMESPACES = ("quantized", "_quantized", "quantization")

# (2) ops matched or emitted by the JIT quantization passes.
QUANT_PASS_OPS = """
aten::quantize_per_tensor aten::quantize_per_channel aten::quantize_per_tensor_dynamic
aten::dequantize aten::_choose_qparams_per_tensor aten::_saturate_weight_to_fp16
aten::q_scale aten::q_zero_point aten::q_per_channel_scales aten::q_per_channel_zero_points
aten::q_per_channel_axis aten::qscheme aten::int_repr aten::_make_per_tensor_quantized_tensor
aten::_make_per_channel_quantized_tensor aten::fake_quantize_per_tensor_affine
aten::fake_quantize_per_channel_affine aten::aminmax aten::_aminmax aten::min aten::max
aten::histc aten::detach aten::detach_ aten::item aten::scalar_tensor aten::sort
aten::conv1d aten::conv2d aten::conv3d aten::conv_transpose1d aten::conv_transpose2d
aten::conv_transpose3d aten::_convolution aten::convolution aten::linear aten::addmm aten::matmul
aten::mm aten::t aten::batch_norm aten::layer_norm aten::group_norm aten::instance_norm
aten::embedding_bag aten::embedding aten::hardswish aten::hardswish_ aten::elu aten::elu_
aten::celu aten::celu_ aten::leaky_relu aten::leaky_relu_ aten::hardsigmoid aten::hardsigmoid_
aten::sigmoid aten::sigmoid_ aten::tanh aten::tanh_ aten::relu aten::relu_ aten::relu6
aten::relu6_ aten::hardtanh aten::hardtanh_ aten::clamp aten::clamp_ aten::add aten::add_
aten::mul aten::mul_ aten::cat aten::max_pool1d aten::max_pool2d aten::max_pool3d aten::flatten
aten::dropout aten::dropout_ aten::reshape aten::resize_ aten::chunk aten::view aten::transpose
aten::contiguous aten::permute aten::repeat aten::repeat_interleave aten::squeeze aten::squeeze_
aten::unsqueeze aten::unsqueeze_ aten::avg_pool1d aten::avg_pool2d aten::avg_pool3d
aten::adaptive_avg_pool1d aten::adaptive_avg_pool2d aten::adaptive_avg_pool3d aten::mean
aten::upsample_nearest1d aten::upsample_nearest2d aten::upsample_nearest3d aten::upsample_linear1d
aten::upsample_bilinear2d aten::upsample_trilinear3d aten::upsample_bicubic2d
aten::size aten::len aten::dim aten::append aten::__getitem__ aten::stack aten::softmax
aten::quantized_max_pool2d
""".split()

# (4) ops of TorchScript programs in general (lists, dicts, numbers, strings, fork/wait).
SCRIPT_OPS = """
aten::append aten::len aten::__getitem__ aten::_set_item aten::size aten::dim aten::numel
aten::format aten::warn aten::eq aten::ne aten::lt aten::le aten::gt aten::ge aten::__is__
aten::__isnot__ aten::__not__ aten::__and__ aten::__or__ aten::__xor__ aten::__contains__
aten::Int aten::Float aten::Bool aten::ScalarImplicit aten::IntImplicit aten::FloatImplicit
aten::str aten::list aten::extend aten::insert aten::pop aten::clear aten::copy aten::keys
aten::values aten::items aten::get aten::setdefault aten::dict aten::__range_length
aten::__derive_index aten::sub aten::div aten::floordiv aten::remainder aten::neg aten::pow
aten::floor aten::ceil aten::abs aten::sqrt aten::exp aten::log aten::wait aten::tensor
aten::to aten::device aten::is_floating_point aten::__upsample_nearest
aten::__interpolate
aten::_infer_size aten::view aten::expand aten::zeros
aten::ones aten::empty aten::full aten::zeros_like aten::ones_like aten::arange aten::sum
aten::split aten::unbind aten::slice aten::select aten::index aten::masked_fill aten::where
aten::all aten::any aten::isnan aten::min aten::max aten::rsub aten::type_as aten::clone
aten::copy_ aten::fill_ aten::zero_ aten::bmm aten::baddbmm aten::div_ aten::sub_
aten::gelu aten::silu aten::hardsigmoid aten::sigmoid aten::softmax aten::log_softmax
aten::__lshift__ aten::__rshift__ aten::mul aten::add aten::str aten::join aten::startswith
aten::endswith aten::split aten::strip aten::lower aten::upper aten::manual_seed
aten::rand aten::randn aten::randint aten::rand_like aten::randn_like aten::bernoulli
aten::bernoulli_ aten::feature_dropout aten::alpha_dropout aten::dropout aten::is_grad_enabled
aten::__isnot__ aten::__is__ aten::_unwrap_optional
aten::is_autocast_enabled aten::is_autocast_cpu_enabled aten::silu_ aten::expand_as aten::view_as aten::_upsample_nearest_exact1d
aten::_upsample_nearest_exact2d aten::_upsample_nearest_exact3d aten::_upsample_bilinear2d_aa
aten::_upsample_bicubic2d_aa aten::gelu_ aten::sub_ aten::neg_ aten::clamp_min aten::clamp_max
aten::log_sigmoid aten::softplus aten::mish aten::hardshrink aten::erf aten::rsqrt aten::reciprocal
prim::min prim::max prim::dtype prim::device prim::layout prim::NumToTensor prim::TupleUnpack
prim::TupleIndex prim::RaiseException prim::Uninitialized prim::unchecked_cast
prim::unchecked_unwrap_optional prim::TypeCheck prim::BailOut prim::BailoutTemplate prim::Guard
prim::AutogradZero prim::AutogradAdd prim::AutogradAnyNonZero prim::AutogradAllZero
prim::AutogradAllNonZero prim::ConstantChunk prim::MMTreeReduce prim::MMBatchSide
prim::BroadcastSizes prim::ChunkSizes prim::FusionGroup prim::DifferentiableGraph
prim::StringIndex prim::EnumName prim::EnumValue prim::tolist prim::is_cuda prim::is_quantized
prim::requires_grad prim::data prim::grad prim::id prim::abs prim::Print prim::PythonOp
prim::IgnoredPythonOp prim::profile prim::profile_ivalue prim::TimePoint prim::AddStatValue
prim::type prim::name prim::index prim::rangelist prim::ModuleContainerIndex prim::VarConcat
prim::VarStack prim::FallbackGraph prim::TensorExprGroup prim::StaticSubgraph
prim::RequiresGradCheck prim::is_cpu prim::is_mkldnn prim::is_sparse prim::is_nested
prim::is_meta prim::is_xpu prim::is_vulkan prim::is_mps prim::is_ort prim::is_ipu
prim::is_sparse_csr
""".split()

# (5) prim ops with no registered schema in PyTorch: interpreted or lowered specially.
SPECIAL_OPS = """
prim::Constant prim::Param prim::Return prim::If prim::Loop prim::ListConstruct
prim::ListUnpack prim::TupleConstruct prim::TupleSlice prim::DictConstruct prim::DictIndex
prim::GetAttr prim::SetAttr prim::CallMethod prim::CallFunction prim::fork
prim::Enter prim::Exit prim::isinstance prim::CreateObject prim::Store prim::Load
prim::Closure prim::FunctionalGraph prim::Drop prim::ImplicitTensorToNum prim::Guard
prim::BroadcastingChunk prim::MMTreeReduce prim::Starred prim::ReturnStmt prim::BreakStmt
prim::ContinueStmt prim::LoopContinuation prim::ComprehensionScope prim::Uninitialized
prim::TypeCheck prim::BailOut prim::AutogradZero prim::ConstantChunk
""".split()

# Ops (besides the quantized namespaces) that consume or produce quantized tensors.
QUANTIZED_ATEN = set("""
aten::quantize_per_tensor aten::quantize_per_channel aten::quantize_per_tensor_dynamic
aten::dequantize aten::_choose_qparams_per_tensor aten::q_scale aten::q_zero_point
aten::q_per_channel_scales aten::q_per_channel_zero_points aten::q_per_channel_axis aten::qscheme
aten::int_repr aten::_make_per_tensor_quantized_tensor aten::_make_per_channel_quantized_tensor
aten::quantized_max_pool2d aten::_saturate_weight_to_fp16
""".split())

NONDET = set("""
aten::rand aten::randn aten::randint aten::rand_like aten::randn_like aten::bernoulli
aten::bernoulli_ aten::dropout aten::dropout_ aten::feature_dropout aten::alpha_dropout
aten::manual_seed quantized::dropout
""".split())

# Seed-file tokens that are FileCheck prefixes or checks for absence, not op names.
SEED_NOT_OPS = {"aten::conv", "aten::quantize", "quantized::conv", "quantized::relu"}


def op_name(schema):
    head = schema.split("(", 1)[0]
    return head.split(".", 1)[0]


def seed_ops(all_names):
    """Op names the seed test file mentions (f"...{dim}d..." expanded to 1, 2, 3)."""
    if not os.path.exists(SEED_FILE):
        with open(SEED_OPS) as f:
            return [l.strip() for l in f if l.strip() and not l.startswith("#")]
    text = open(SEED_FILE, encoding="utf-8").read()
    text = re.sub(r"\{dim\}", "@", text)
    found = set()
    for tok in re.findall(r"\b(?:aten|prim|quantized|quantization)::[A-Za-z_0-9@]+", text):
        for d in ("1", "2", "3") if "@" in tok else ("",):
            found.add(tok.replace("@", d))
    out = []
    for name in sorted(found):
        if name in SEED_NOT_OPS or (name not in all_names and name not in SPECIAL_OPS):
            if name not in SEED_NOT_OPS:
                print("note: seed names %s, unknown to torch 1.13" % name, file=sys.stderr)
            continue
        out.append(name)
    return out


def graph_kinds(graph, acc):
    for node in graph.nodes():
        acc.add(node.kind())
        for block in node.blocks():
            graph_kinds(block, acc)


def module_kinds(m, acc):
    """Node kinds of m.forward and of every submodule's forward, before and after inlining."""
    import torch
    for sub in m.modules():
        try:
            g = sub.graph
        except (AttributeError, RuntimeError):
            continue  # a traced submodule that was never called has no forward method
        graph_kinds(g, acc)
        g2 = g.copy()
        torch._C._jit_pass_inline(g2)
        graph_kinds(g2, acc)


def model_ops():
    import torch
    import torchvision
    torch.manual_seed(0)
    acc = set()
    specs = [
        (torchvision.models.resnet18(), torch.randn(1, 3, 64, 64)),
        (torchvision.models.resnet50(), torch.randn(1, 3, 64, 64)),
        (torchvision.models.mobilenet_v2(), torch.randn(1, 3, 64, 64)),
        (torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64),
         torch.randn(5, 2, 32)),
    ]
    for model, x in specs:
        model.eval()
        module_kinds(torch.jit.script(model), acc)
        with torch.no_grad():
            module_kinds(torch.jit.trace(model, x), acc)
    # Observed model: the observers' forward methods (min/max tracking) after inlining.
    from torch.ao.quantization import get_default_qconfig, prepare_jit
    m = torch.jit.script(torchvision.models.resnet18().eval())
    qengine = "qnnpack" if "qnnpack" in torch.backends.quantized.supported_engines else "fbgemm"
    torch.backends.quantized.engine = qengine
    prepared = prepare_jit(m, {"": get_default_qconfig(qengine)})
    module_kinds(prepared, acc)
    return acc


def flags_for(name, schema, special):
    fl = []
    if special:
        fl.append("QG_OP_SPECIAL")
    ns = name.split("::", 1)[0]
    if ns in WHOLE_NAMESPACES or name in QUANTIZED_ATEN:
        fl.append("QG_OP_QUANTIZED")
    if not special:
        args = schema.split("(", 1)[1]
        first = args.split(",", 1)[0]
        overload = schema.split("(", 1)[0].partition(".")[2]
        if (name.endswith("_") and not name.endswith("__")) or (
                "!)" in first and "out" not in overload):
            fl.append("QG_OP_INPLACE")
    if name in NONDET:
        fl.append("QG_OP_NONDET")
    return " | ".join(fl) if fl else "0"


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


HEADER = """\
/* The operator table: one row per overload, X(schema, flags). GENERATED by
 * tools/gen_ops_def.py from torch %(version)s `torch._C._jit_get_all_schemas()`; do not edit by
 * hand: add the op name to the script's lists and rerun it (see docs/ops.md).
 *
 * Schemas are PyTorch's `str(schema)` verbatim (its FunctionSchema printing), so
 * qg_schema_print(qg_schema_parse(row)) reproduces the row exactly. Defaults keep PyTorch's
 * spelling: floats with 17 significant digits (eps=1.0000000000000001e-05), enum defaults as
 * ints (MemoryFormat memory_format=0), `int[2] stride=1` (a scalar broadcast to the list).
 *
 * Ops PyTorch treats specially and registers without a schema (prim::If, prim::Loop,
 * prim::Constant, prim::GetAttr, prim::CallMethod, prim::ListConstruct, ...) are written
 *     "prim::If(...) -> ..."
 * -- varargs in, varargs out, no overload name -- and carry QG_OP_SPECIAL; their operands,
 * blocks and attributes are checked by the IR's own rules, not by this table. Only names with
 * no registered schema get such a row: prim::TypeCheck, prim::Uninitialized, prim::TupleUnpack
 * ... have schemas in 1.13 and are listed with them, without QG_OP_SPECIAL.
 *
 * Rows are grouped by op name (sorted); overloads of one name keep PyTorch's registration
 * order, which is the order overload resolution tries them in.
 *
 * %(count)d rows, %(names)d op names. */
"""


def generate():
    import torch
    schemas = [str(s) for s in torch._C._jit_get_all_schemas()]
    by_name = {}
    for s in schemas:
        by_name.setdefault(op_name(s), []).append(s)
    all_names = set(by_name)

    seed = seed_ops(all_names)
    wanted = set(seed) | set(QUANT_PASS_OPS) | set(SCRIPT_OPS) | set(SPECIAL_OPS)
    wanted |= {n for n in all_names if n.split("::", 1)[0] in WHOLE_NAMESPACES}
    wanted |= {k for k in model_ops() if "::" in k}

    rows = []
    names = 0
    for name in sorted(wanted):
        if name in by_name:
            names += 1
            for s in by_name[name]:
                rows.append((s, flags_for(name, s, False)))
        elif name.startswith("prim::") or name in SPECIAL_OPS:
            names += 1
            rows.append(("%s(...) -> ..." % name, flags_for(name, "", True)))
        else:
            print("note: %s has no schema in torch %s; skipped" % (name, torch.__version__),
                  file=sys.stderr)
    body = HEADER % {"version": torch.__version__, "count": len(rows), "names": names}
    body += "".join("X(%s, %s)\n" % (c_string(s), f) for s, f in rows)
    seed_text = ("# Op names used by the seed test file (test_quantize_jit.py); generated by\n"
                 "# tools/gen_ops_def.py. tests/test_schema.c checks each is in the registry.\n")
    seed_text += "".join(n + "\n" for n in seed)
    return body, seed_text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args()
    body, seed_text = generate()
    outputs = ((OPS_DEF, body), (SEED_OPS, seed_text))
    if args.check:
        bad = [p for p, text in outputs if not os.path.exists(p) or open(p).read() != text]
        for p in bad:
            print("out of date: %s" % os.path.relpath(p, ROOT), file=sys.stderr)
        return 1 if bad else 0
    for p, text in outputs:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        print("wrote %s" % os.path.relpath(p, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
