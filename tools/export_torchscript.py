#!/usr/bin/python3
"""Exports a TorchScript module (scripted or traced) to a quantgraph bundle.

A bundle is a safetensors file whose tensors are the module's tensor attributes and whose
`__metadata__` carries the module text (see docs/formats.md and docs/exporter.md):

    /usr/bin/python3 tools/export_torchscript.py MODEL.pt OUT.safetensors [--source script|trace]

or from Python:

    from export_torchscript import export
    export(torch.jit.script(model), "out.safetensors", source="script")

Only public torch APIs are used, and only ones present in torch 1.13 (Debian's python3-torch)
and 2.x:

* class declarations (slot names, kinds and declared types, in declaration order) come from
  the code archive that `torch.jit.save` writes: 1.13 has no Python call that lists a class
  type's attributes. The archive demangles class names (`___torch_mangle_N`), while the live
  graphs keep them, so the archive is loaded back into a private compilation unit and walked
  in parallel with the live module to map every archive class name to its live name;
* method graphs are `str(module._c._get_method(name).graph)` of the live module, verbatim;
* each graph is followed by its signature with argument defaults, `str(method.schema)`
  verbatim (`signature = "..."`), so callers may omit defaulted trailing arguments;
* free functions are found from `Function` constants in the graphs and their graphs are read
  from the Python compilation unit (or the archive's, for modules loaded from a file);
* attribute values come from `module._c.getattr(name)`.
"""
import argparse
import io
import json
import re
import struct
import sys
import zipfile

import torch

FORMAT_VERSION = "1"

# torch dtype -> (safetensors dtype, element size)
_DTYPES = {
    torch.float64: ("F64", 8),
    torch.float32: ("F32", 4),
    torch.float16: ("F16", 2),
    torch.bfloat16: ("BF16", 2),
    torch.int64: ("I64", 8),
    torch.int32: ("I32", 4),
    torch.int16: ("I16", 2),
    torch.int8: ("I8", 1),
    torch.uint8: ("U8", 1),
    torch.bool: ("BOOL", 1),
}


class ExportError(Exception):
    """A module that cannot be written as a bundle (the message names the attribute path)."""


# ---------------------------------------------------------------------------------------------
# Type annotations: archive syntax (`Optional[List[int]]`) -> IR syntax (`int[]?`)
# ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9.]*|\[|\]|\(|\)|,)")


def _parse_annotation(text):
    """Parses an annotation into (name, [args]) trees. `Tuple[()]` gives ('Tuple', [])."""
    toks = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExportError("cannot parse type annotation %r at %d" % (text, pos))
        toks.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    i = 0

    def parse():
        nonlocal i
        if toks[i] == "(":  # `()` inside Tuple[()]
            if toks[i + 1] != ")":
                raise ExportError("cannot parse type annotation %r" % text)
            i += 2
            return None
        name = toks[i]
        i += 1
        args = []
        if i < len(toks) and toks[i] == "[":
            i += 1
            while toks[i] != "]":
                a = parse()
                if a is not None:
                    args.append(a)
                if toks[i] == ",":
                    i += 1
            i += 1
        return (name, args)

    tree = parse()
    if i != len(toks):
        raise ExportError("trailing text in type annotation %r" % text)
    return tree


def _ir_type(tree, rename):
    """Prints a parsed annotation the way c10 prints types in graphs (`str(graph)`)."""
    name, args = tree
    a = [_ir_type(x, rename) for x in args]
    if name == "Optional":
        return a[0] + "?"
    if name == "List":
        return a[0] + "[]"
    if name == "Tuple":
        return "(" + ", ".join(a) + ")"
    if name == "Dict":
        return "Dict(" + ", ".join(a) + ")"
    if name == "Union":
        return "Union(" + ", ".join(a) + ")"
    if name in ("Future", "RRef", "Await"):
        return name + "[" + ", ".join(a) + "]"
    if args:
        raise ExportError("unsupported type annotation %s[...]" % name)
    return rename.get(name, name)


def annotation_to_ir(text, rename=None):
    """`Optional[Tensor]` -> `Tensor?`; class names are mapped through `rename`."""
    return _ir_type(_parse_annotation(text), rename or {})


def _class_names_in(text):
    return re.findall(r"__torch__(?:\.[A-Za-z_0-9]+)+", text)


# ---------------------------------------------------------------------------------------------
# Code archive: class declarations
# ---------------------------------------------------------------------------------------------


class ClassDecl:
    def __init__(self, qualname, base):
        self.qualname = qualname
        self.base = base              # "Module", "ModuleInterface", "Interface", "" ...
        self.parameters = []
        self.buffers = []
        self.slots = []               # [(name, annotation text)] in declaration order
        self.interface_methods = []   # [(name, [(arg, annotation)], return annotation)]

    @property
    def is_module(self):
        return self.base == "Module"

    @property
    def is_interface(self):
        return self.base in ("ModuleInterface", "Interface")


def _parse_list_literal(text):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', text)


def _parse_signature(sig):
    """`def forward(self, x: Tensor, y: int=1) -> Tensor:` -> ("forward", [(x, Tensor), ...], ret)."""
    m = re.match(r"\s*def\s+([A-Za-z_0-9]+)\s*\((.*)\)\s*->\s*(.*):\s*$", sig, re.S)
    if not m:
        raise ExportError("cannot parse interface method %r" % sig)
    name, argtext, ret = m.group(1), m.group(2), m.group(3).strip()
    args = []
    depth = 0
    cur = ""
    parts = []
    for ch in argtext:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    for p in parts:
        p = p.strip()
        if p == "self" or p.startswith("self:"):
            continue
        an, _, ty = p.partition(":")
        ty = ty.split("=")[0].strip() if "=" in ty else ty.strip()
        args.append((an.strip(), ty))
    return name, args, ret


def parse_archive_code(files):
    """files: {archive path: source text} of `code/__torch__.py` and `code/__torch__/**.py`.
    Returns {qualname: ClassDecl}."""
    decls = {}
    for path, text in files.items():
        mod = path[path.index("code/") + 5:-3].replace("/", ".")
        lines = text.split("\n")
        cur = None
        i = 0
        while i < len(lines):
            line = lines[i]
            m = re.match(r"class ([A-Za-z_0-9.]+)(?:\((.*)\))?:\s*$", line)
            if m:
                cur = ClassDecl(mod + "." + m.group(1), (m.group(2) or "").strip())
                decls[cur.qualname] = cur
                i += 1
                continue
            if not line.startswith("  ") or cur is None:
                cur = None if line and not line.startswith(" ") else cur
                i += 1
                continue
            body = line[2:]
            if body.startswith(" "):
                i += 1
                continue
            if body.startswith("def "):
                if cur.is_interface:
                    sig = body
                    while not sig.rstrip().endswith(":") and i + 1 < len(lines):
                        i += 1
                        sig += " " + lines[i].strip()
                    cur.interface_methods.append(_parse_signature(sig))
                i += 1
                continue
            m = re.match(r"__parameters__ = \[(.*)\]\s*$", body)
            if m:
                cur.parameters = _parse_list_literal(m.group(1))
                i += 1
                continue
            m = re.match(r"__buffers__ = \[(.*)\]\s*$", body)
            if m:
                cur.buffers = _parse_list_literal(m.group(1))
                i += 1
                continue
            m = re.match(r'__annotations__\["((?:[^"\\]|\\.)*)"\] = (.*)$', body)
            if m:
                cur.slots.append((m.group(1), m.group(2).strip()))
                i += 1
                continue
            m = re.match(r"([A-Za-z_0-9]+) : (.*)$", body)
            if m:
                ty = m.group(2).strip()
                if not ty.startswith("Final["):  # class constants are not slots
                    cur.slots.append((m.group(1), ty))
            i += 1
    return decls


def _save_archive(module):
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    data = buf.getvalue()
    files = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for n in z.namelist():
            if "/code/__torch__" in n and n.endswith(".py"):
                files[n[n.index("code/"):]] = z.read(n).decode("utf-8")
    return data, files


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


def _is_object(v):
    return isinstance(v, (torch._C.ScriptModule, torch._C.ScriptObject))


def _type_name(obj):
    return obj._type().qualified_name()


def _fmt_float(x):
    r = repr(float(x))
    if r in ("inf", "-inf", "nan"):
        return r
    if not any(c in r for c in ".en"):
        r += ".0"
    return r


def _slot_name(name):
    """A slot name as the module text writes it: a word, or a quoted string otherwise
    (PyTorch allows attribute names such as convert's "x.2_scale_0")."""
    if name and not name[0].isdigit() and all(c.isalnum() or c == "_" for c in name):
        return name
    return _fmt_string(name)


def _fmt_string(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _default_str(v, sized):
    """A default value as c10's Argument printing writes it (fallback of _schema_str)."""
    if v is None or isinstance(v, bool):
        return str(v)
    if isinstance(v, str):
        return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if isinstance(v, float):
        return _fmt_float(v)
    if isinstance(v, (list, tuple)):
        if sized and v and all(x == v[0] for x in v):
            return _default_str(v[0], False)
        items = [_default_str(x, False) for x in v]
        if isinstance(v, tuple):
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    return str(v)


def _schema_str(schema):
    """`str(schema)`, the TorchScript signature with defaults. torch 1.13 cannot print a sized
    int list argument whose default is one int (`padding: BroadcastingList2[int] = 0` of
    F._max_pool2d: "Expected IntList but got Int"), so such schemas are spelled out here the way
    c10 prints them (`int[2] padding=0`)."""
    try:
        return str(schema)
    except RuntimeError:
        pass
    args, kw = [], False
    for a in schema.arguments:
        if a.kwarg_only and not kw:
            args.append("*")
            kw = True
        ty = a.type
        opt = isinstance(ty, torch._C.OptionalType)
        bare = ty.getElementType() if opt else ty
        if isinstance(bare, torch._C.ListType) and a.N:
            text = "%s[%d]" % (bare.getElementType().str(), a.N)
        else:
            text = bare.str()
        text += ("?" if opt else "") + " " + a.name
        if a.has_default_value():
            text += "=" + _default_str(a.default_value, bool(a.N))
        args.append(text)
    rets = [r.type.str() + (" " + r.name if r.name else "") for r in schema.returns]
    ret = rets[0] if len(rets) == 1 and not schema.returns[0].name else "(" + ", ".join(rets) + ")"
    name = schema.name + ("." + schema.overload_name if schema.overload_name else "")
    return "%s(%s) -> %s" % (name, ", ".join(args), ret)


def _signature_line(schema):
    """`  signature = "..."` after a method or function graph (and its constants line): the
    TorchScript schema with argument defaults, `str(schema)` verbatim (docs/formats.md)."""
    return "  signature = " + _fmt_string(_schema_str(schema))


def _import_from_buffer(cu, data):
    """Loads a torch.jit.save archive into the compilation unit `cu` (so its class names are the
    archive's, not re-mangled into the global unit). torch 2.x added a `restore_shapes` flag."""
    try:
        return torch._C.import_ir_module_from_buffer(cu, data, None, {})
    except TypeError:
        return torch._C.import_ir_module_from_buffer(cu, data, None, {}, False)


class _Exporter:
    def __init__(self, module, cu=None):
        self.root = module._c if hasattr(module, "_c") else module
        self.cu = cu
        archive, files = _save_archive(self.root)
        self.decls = parse_archive_code(files)
        # The archive loaded back: its types carry the archive names used in `decls`.
        self.arch_cu = torch._C.CompilationUnit()
        self.arch_root = _import_from_buffer(self.arch_cu, archive)
        self.arch_to_live = {}
        self.live_to_arch = {}
        self.tensors = []          # [(name, tensor)]
        self.tensor_names = {}     # identity key -> name
        self.warnings = []         # things the bundle cannot carry (see _constants_line)

    # -- class name mapping ---------------------------------------------------------------

    def _map_types(self, live, arch, path):
        ln, an = _type_name(live), _type_name(arch)
        prev = self.arch_to_live.get(an)
        if prev is not None and prev != ln:
            raise ExportError("%s: archive class %s stands for two live classes (%s, %s)"
                              % (path or "<root>", an, prev, ln))
        self.arch_to_live[an] = ln
        self.live_to_arch[ln] = an
        decl = self.decls.get(an)
        if decl is None:
            raise ExportError("%s: class %s has no declaration in the code archive"
                              % (path or "<root>", ln))
        for name, _ty in decl.slots:
            self._map_values(live.getattr(name), arch.getattr(name), _join(path, name))

    def _map_values(self, lv, av, path):
        if _is_object(lv):
            self._map_types(lv, av, path)
        elif isinstance(lv, (list, tuple)):
            for i, (x, y) in enumerate(zip(lv, av)):
                self._map_values(x, y, _join(path, str(i)))
        elif isinstance(lv, dict):
            for (k, x), y in zip(lv.items(), av.values()):
                self._map_values(x, y, _join(path, str(k)))

    def _finish_mapping(self):
        """Archive classes without a live instance (interfaces, classes named only in types):
        their live name is the archive name unless a graph names a mangled variant."""
        live_names = set()
        for text in self._all_graph_texts():
            live_names.update(_class_names_in(text))
        by_demangled = {}
        for n in sorted(live_names):
            by_demangled.setdefault(_demangle(n), []).append(n)
        for an in self.decls:
            if an in self.arch_to_live:
                continue
            cands = [n for n in by_demangled.get(_demangle(an), []) if n not in self.live_to_arch]
            ln = cands[0] if len(cands) == 1 else an
            self.arch_to_live[an] = ln
            self.live_to_arch.setdefault(ln, an)

    # -- graphs ---------------------------------------------------------------------------

    def _modules(self):
        """(dotted path, live ScriptModule) for every module instance, depth first in slot order."""
        out = []

        def walk(obj, path):
            out.append((path, obj))
            decl = self.decls[self.live_to_arch[_type_name(obj)]]
            for name, _ty in decl.slots:
                v = obj.getattr(name)
                if isinstance(v, torch._C.ScriptModule):
                    walk(v, _join(path, name))

        walk(self.root, "")
        return out

    def _all_graph_texts(self):
        texts = []
        seen = set()

        def walk(obj):
            tn = _type_name(obj)
            if tn in seen:
                return
            seen.add(tn)
            if isinstance(obj, torch._C.ScriptModule):
                for mn in obj._method_names():
                    texts.append(str(obj._get_method(mn).graph))
            an = self.live_to_arch.get(tn)
            decl = self.decls.get(an)
            for name, _ty in (decl.slots if decl else []):
                v = obj.getattr(name)
                if isinstance(v, torch._C.ScriptModule):
                    walk(v)

        walk(self.root)
        return texts

    def method_graphs(self, obj):
        return [(mn, obj._get_method(mn).graph) for mn in obj._method_names()]

    def _constants_line(self, where, graph):
        """The `constants = [tensor "...", ...]` line that follows a graph with tensor
        constants (docs/formats.md, "Tensor constants"), or None. Traced graphs capture plain
        tensor attributes as constants, which `str(graph)` prints as `<Tensor>` (or with 4
        decimals), so their data is stored as bundle tensors named
        `__constants__.<qualname>.<method>.<i>` (functions: `__constants__.<qualname>.<i>`)."""
        consts = tensor_constants(graph)
        if not consts:
            return None
        bad = [t for t in consts if t.is_quantized or t.layout != torch.strided or
               t.dtype not in _DTYPES]
        if bad:
            self.warnings.append("%s: %d tensor constant(s) (%s) cannot be stored in bundle format "
                                 "1; their data is not in the bundle"
                                 % (where, len(bad), ", ".join(sorted({str(t.dtype) for t in bad}))))
            return None
        names = []
        for i, t in enumerate(consts):
            name = "__constants__.%s.%d" % (where, i)
            self.tensors.append((name, t.detach().to("cpu").contiguous()))
            names.append("tensor %s" % _fmt_string(name))
        return "  constants = [" + ", ".join(names) + "]"

    def functions(self):
        """[(qualified name, graph text)] of every function reachable through Function constants."""
        found = []
        seen = set()
        queue = []

        def scan_graph(g):
            stack = [g.nodes()]
            while stack:
                for n in stack.pop():
                    if n.kind() == "prim::Constant" and n.outputsSize() == 1:
                        t = n.output().type()
                        if t.kind() == "FunctionType":
                            name = str(t)
                            if name not in seen:
                                seen.add(name)
                                queue.append(name)
                    for b in n.blocks():
                        stack.append(b.nodes())

        done_types = set()
        for _path, obj in self._modules():
            tn = _type_name(obj)
            if tn in done_types:
                continue
            done_types.add(tn)
            for mn in obj._method_names():
                scan_graph(obj._get_method(mn).graph)
        while queue:
            name = queue.pop(0)
            fn = self._find_function(name)
            if fn is None:
                raise ExportError("function %s (called through prim::CallFunction) not found" % name)
            found.append((name, fn.graph))
            scan_graph(fn.graph)
        return found

    def _find_function(self, name):
        cus = []
        if self.cu is not None:
            cus.append(self.cu)
        pycu = getattr(getattr(torch.jit, "_state", None), "_python_cu", None)
        if pycu is not None:
            cus.append(pycu)
        cus.append(self.arch_cu)
        for cu in cus:
            names = [name]
            an = self.live_to_arch.get(name)
            if an:
                names.append(an)
            for n in names:
                try:
                    fn = cu.find_function(n)
                except RuntimeError:
                    fn = None
                if fn is not None:
                    return fn
        return None

    # -- module text ----------------------------------------------------------------------

    def _slot_kind(self, decl, name, ty):
        if name in decl.parameters:
            return "parameter"
        if name in decl.buffers:
            return "buffer"
        for cn in _class_names_in(ty):
            d = self.decls.get(cn)
            if d is not None and (d.is_module or d.base == "ModuleInterface") and \
                    ty.strip() == cn:
                return "module"
        return "attribute"

    def _class_order(self):
        """Archive class names, each after every class its slots name (declare before use)."""
        order = []
        state = {}

        def visit(an):
            if state.get(an) == 2 or an not in self.decls:
                return
            if state.get(an) == 1:
                return  # a cycle through a non-module class: graphs resolve it later
            state[an] = 1
            for _name, ty in self.decls[an].slots:
                for cn in _class_names_in(ty):
                    visit(cn)
            for _mn, args, ret in self.decls[an].interface_methods:
                for _a, ty in args:
                    for cn in _class_names_in(ty):
                        visit(cn)
                for cn in _class_names_in(ret):
                    visit(cn)
            state[an] = 2
            order.append(an)

        # instances first (depth first from the root), then classes named only by graphs
        for _path, obj in self._modules():
            visit(self.live_to_arch[_type_name(obj)])
        for an in self.decls:
            visit(an)
        return order

    def _instances_by_class(self):
        inst = {}

        def walk(obj):
            tn = _type_name(obj)
            if tn not in inst:
                inst[tn] = obj
            decl = self.decls[self.live_to_arch[tn]]
            for name, _ty in decl.slots:
                self._each_object(obj.getattr(name), walk)

        walk(self.root)
        return inst

    def _each_object(self, v, fn):
        if _is_object(v):
            fn(v)
        elif isinstance(v, (list, tuple)):
            for x in v:
                self._each_object(x, fn)
        elif isinstance(v, dict):
            for x in v.values():
                self._each_object(x, fn)

    def module_text(self):
        self._map_types(self.root, self.arch_root, "")
        self._finish_mapping()
        rename = dict(self.arch_to_live)
        instances = self._instances_by_class()
        out = ["quantgraph module 1", ""]
        order = self._class_order()
        # interfaces first, then classes (each after the classes its slots name), as
        # quantgraph's canonical printer writes them (docs/formats.md, "Canonical form")
        order = [a for a in order if self.decls[a].is_interface] + \
            [a for a in order if not self.decls[a].is_interface]
        for an in order:
            decl = self.decls[an]
            ln = self.arch_to_live[an]
            if decl.base in ("NamedTuple", "Enum"):
                continue  # structural types; graphs spell them out
            if decl.is_interface:
                out.append("interface %s {" % ln)
                for mn, args, ret in decl.interface_methods:
                    out.append("  method %s(%s) -> %s" % (
                        mn, ", ".join("%s %s" % (annotation_to_ir(t, rename), a) for a, t in args),
                        annotation_to_ir(ret, rename)))
                out.append("}")
                out.append("")
                continue
            out.append("%s %s {" % ("module class" if decl.is_module else "class", ln))
            for name, ty in decl.slots:
                out.append("  %s %s : %s" % (self._slot_kind(decl, name, ty), _slot_name(name),
                                             annotation_to_ir(ty, rename)))
            obj = instances.get(ln)
            if isinstance(obj, torch._C.ScriptModule):
                for mn, g in self.method_graphs(obj):
                    out.append("  method %s = %s" % (mn, str(g).rstrip("\n")))
                    line = self._constants_line("%s.%s" % (ln, mn), g)
                    if line:
                        out.append(line)
                    out.append(_signature_line(obj._get_method(mn).schema))
            out.append("}")
            out.append("")
        self.function_list = self.functions()
        for name, g in self.function_list:
            out.append("function %s = %s" % (name, str(g).rstrip("\n")))
            line = self._constants_line(name, g)
            if line:
                out.append(line)
            out.append(_signature_line(self._find_function(name).schema))
            out.append("")
        root_lines = []
        self._write_object(self.root, "", "", root_lines, top=True)
        out.extend(root_lines)
        return "\n".join(out) + "\n"

    def _write_object(self, obj, path, indent, out, top=False):
        tn = _type_name(obj)
        decl = self.decls[self.live_to_arch[tn]]
        out.append(("root %s {" if top else "%s {") % tn)
        for name, _ty in decl.slots:
            v = obj.getattr(name)
            p = _join(path, name)
            if _is_object(v):
                sub = []
                self._write_object(v, p, indent + "  ", sub)
                out.append("%s  %s = %s" % (indent, _slot_name(name), sub[0]))
                out.extend(sub[1:])
            else:
                out.append("%s  %s = %s" % (indent, _slot_name(name), self._value(v, p, indent + "  ")))
        out.append("%s}" % indent)

    def _value(self, v, path, indent):
        if v is None:
            return "None"
        if isinstance(v, bool):
            return "True" if v else "False"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return _fmt_float(v)
        if isinstance(v, str):
            return _fmt_string(v)
        if isinstance(v, torch.Tensor):
            return 'tensor %s' % _fmt_string(self._tensor(v, path))
        if isinstance(v, torch.device):
            return "device %s" % _fmt_string(str(v))
        if isinstance(v, list):
            return "[" + ", ".join(self._nested(x, _join(path, str(i)), indent)
                                   for i, x in enumerate(v)) + "]"
        if isinstance(v, tuple):
            items = [self._nested(x, _join(path, str(i)), indent) for i, x in enumerate(v)]
            return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
        if isinstance(v, dict):
            return "{" + ", ".join("%s: %s" % (self._value(k, path, indent),
                                               self._nested(x, _join(path, str(k)), indent))
                                   for k, x in v.items()) + "}"
        raise ExportError("attribute %s: unsupported value of type %s" % (path or "<root>",
                                                                         type(v).__name__))

    def _nested(self, v, path, indent):
        if _is_object(v):
            sub = []
            self._write_object(v, path, indent, sub)
            return "\n".join(sub)
        return self._value(v, path, indent)

    def _tensor(self, t, path):
        if t.is_quantized:
            raise ExportError("attribute %s: quantized tensors (%s) are not supported by bundle "
                              "format 1" % (path, t.dtype))
        if t.layout != torch.strided:
            raise ExportError("attribute %s: tensor layout %s is not supported" % (path, t.layout))
        if t.dtype not in _DTYPES:
            raise ExportError("attribute %s: tensor dtype %s is not supported" % (path, t.dtype))
        key = (t.device.type, t.data_ptr(), t.dtype, tuple(t.shape), tuple(t.stride()),
               t.storage_offset()) if t.numel() > 0 else None
        if key is not None and key in self.tensor_names:
            return self.tensor_names[key]
        self.tensors.append((path, t.detach().to("cpu").contiguous()))
        if key is not None:
            self.tensor_names[key] = path
        return path


def tensor_constants(graph):
    """The tensors of the tensor-valued prim::Constant nodes of `graph`, in the order the
    format numbers them (docs/formats.md): pre-order over the top block, each node before its
    blocks (in order), then the graphs of its graph attributes (in attribute order: a traced
    prim::fork's Subgraph), each walked the same way."""
    out = []

    def walk(nodes):
        for n in nodes:
            if n.kind() == "prim::Constant" and "value" in n.attributeNames() and \
                    n.kindOf("value") == "t":
                out.append(n.t("value"))
            for b in n.blocks():
                walk(b.nodes())
            for a in n.attributeNames():
                k = n.kindOf(a)
                if k == "g":
                    walk(n.g(a).nodes())
                elif k == "gs":
                    for sg in n.gs(a):
                        walk(sg.nodes())

    walk(graph.nodes())
    return out


def _join(path, name):
    return name if not path else path + "." + name


def _demangle(name):
    return re.sub(r"___torch_mangle_\d+\.", "", name)


def _tensor_bytes(t):
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata):
    """tensors: [(name, contiguous CPU tensor)]. Order: descending element size, then name;
    the header is padded with spaces to a multiple of 8 so every tensor stays aligned."""
    ordered = sorted(tensors, key=lambda nt: (-_DTYPES[nt[1].dtype][1], nt[0]))
    header = {"__metadata__": metadata}
    blobs = []
    off = 0
    for name, t in ordered:
        b = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def guess_source(module):
    traced = getattr(torch.jit, "TopLevelTracedModule", None)
    if traced is not None and isinstance(module, traced):
        return "trace"
    if isinstance(module, torch.jit.RecursiveScriptModule):
        return "script"
    return None


def build_bundle(module, *, source=None, cu=None, guess=True):
    """Returns (module text, [(tensor name, tensor)], metadata dict, exporter). With guess, an
    unknown source is guessed from the module's Python class (only meaningful for modules
    made by torch.jit.script/trace in this process; torch.jit.load gives script modules)."""
    ex = _Exporter(module, cu)
    text = ex.module_text()
    meta = {
        "quantgraph.format": FORMAT_VERSION,
        "quantgraph.module": text,
        "quantgraph.torch_version": torch.__version__,
        "quantgraph.engine": str(torch.backends.quantized.engine),
    }
    if source is None and guess:
        source = guess_source(module)
    if source is not None:
        meta["quantgraph.source"] = source
    return text, ex.tensors, meta, ex


def export(script_module, path, *, source=None, cu=None):
    """Writes `script_module` (a torch.jit.ScriptModule) to the bundle at `path`.

    source: "script" or "trace" (recorded as quantgraph.source; guessed when None).
    cu: the compilation unit the module was loaded into, if it came from torch.jit.load-like
    code; free functions are looked up there first. Returns the module text."""
    text, tensors, meta, _ex = build_bundle(script_module, source=source, cu=cu)
    write_safetensors(path, tensors, meta)
    return text


def load_with_cu(path):
    """torch.jit.load that also returns the compilation unit (to find free functions)."""
    cu = torch._C.CompilationUnit()
    with open(path, "rb") as f:
        data = f.read()
    cpp = _import_from_buffer(cu, data)
    from torch.jit._recursive import wrap_cpp_module
    return wrap_cpp_module(cpp), cu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a TorchScript archive written by torch.jit.save")
    ap.add_argument("out", help="the bundle to write (.safetensors)")
    ap.add_argument("--source", choices=["script", "trace"], default=None)
    args = ap.parse_args(argv)
    module, cu = load_with_cu(args.model)
    try:
        _text, tensors, meta, ex = build_bundle(module, source=args.source, cu=cu, guess=False)
    except ExportError as e:
        print("export_torchscript: %s" % e, file=sys.stderr)
        return 1
    write_safetensors(args.out, tensors, meta)
    for w in ex.warnings:
        print("export_torchscript: warning: %s" % w, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
