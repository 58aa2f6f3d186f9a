"""Writes ``zanepool_client/_api.py``, the typed facade, from the zanepool.v1 service descriptors.

``python -m zanepool_client._codegen`` (run by ``make gen-protos``); ``--check`` exits 1 when the
file is stale. For every RPC it writes the keyword arguments (a TypedDict, shared between
requests with the same fields), a signature function and a :class:`~zanepool_client.methods.Method`
on ``Api``: ``unary`` returning the response's one resource (None for an empty response, the
response itself otherwise), ``paged`` plus ``<name>_page`` for List RPCs, ``streamed`` for
server streams.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

from google.protobuf import descriptor
from google.protobuf.descriptor import FieldDescriptor

import zanepool.v1
from zanepool_client.methods import is_paged, snake

PACKAGE = Path(zanepool.v1.__file__).parent
#: Every service module of the API (``zanepool/v1/*_service_pb2.py``), PoolService first.
MODULES = tuple(
    sorted(
        (importlib.import_module(f"zanepool.v1.{path.stem}") for path in PACKAGE.glob("*_service_pb2.py")),
        key=lambda module: (module.__name__ != "zanepool.v1.pool_service_pb2", module.__name__),
    )
)
TARGET = Path(__file__).with_name("_api.py")

SCALARS = {
    FieldDescriptor.TYPE_STRING: "str",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_DOUBLE: "float",
    FieldDescriptor.TYPE_FLOAT: "float",
}
# Well-known types that also take a plain Python value (see methods.build).
EXTRA = {
    "google.protobuf.FieldMask": "Iterable[str]",
    "google.protobuf.Timestamp": "datetime.datetime",
}


def services() -> list[descriptor.ServiceDescriptor]:
    return [svc for module in MODULES for svc in module.DESCRIPTOR.services_by_name.values()]


def module_of(file: descriptor.FileDescriptor) -> str:
    return Path(file.name).stem + "_pb2"


def py_type(desc: descriptor.Descriptor | descriptor.EnumDescriptor) -> str:
    package = desc.file.package
    path = desc.full_name.removeprefix(package + ".")
    return f"{module_of(desc.file)}.{path}"


def field_type(field: FieldDescriptor) -> str:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = (field_type(f) for f in field.message_type.fields)
        return f"Mapping[{key}, {value}]"
    if field.enum_type is not None:
        single = f"{py_type(field.enum_type)}.ValueType"
    elif field.message_type is not None:
        single = py_type(field.message_type)
        if field.message_type.full_name in EXTRA:
            single += f" | {EXTRA[field.message_type.full_name]}"
    else:
        single = SCALARS.get(field.type, "int")
    return f"Iterable[{single}]" if field.is_repeated else single


def resource_pick(output: descriptor.Descriptor) -> str:
    """What a unary method returns from its response."""
    fields = list(output.fields)
    if not fields:
        return "lambda _: None"
    if len(fields) == 1 and fields[0].message_type is not None and not fields[0].is_repeated:
        return f"lambda r: r.{fields[0].name}"
    return "lambda r: r"


def items_pick(output: descriptor.Descriptor) -> str:
    (items,) = [f for f in output.fields if f.is_repeated and f.message_type is not None]
    return f"lambda r: r.{items.name}"


def generate() -> str:
    shared = Counter(keyword_set(m) for svc in services() for m in svc.methods)
    args: dict[tuple[tuple[str, str], ...], str] = {}  # field set -> TypedDict name
    arg_lines: list[str] = []
    sig_lines: list[str] = []
    api_lines: list[str] = []
    rpc_lines: list[str] = []
    for svc in services():
        api_lines.append(f"\n    # {svc.name}")
        for method in svc.methods:
            req, resp = method.input_type, method.output_type
            fields = keyword_set(method)
            typed = f"{method.name}Args"
            if fields not in args:
                # Requests with the same fields share one TypedDict, named by its fields when few.
                common = shared[fields] > 1 and len(fields) <= 3
                named = "".join(n.title().replace("_", "") for n, _ in fields[:-1]) + "Args"
                args[fields] = named if common else typed
                base = fields[-1][1]
                body = "".join(f"    {name}: {kind} | None\n" for name, kind in fields[:-1])
                arg_lines.append(f"class {args[fields]}({base}, total=False):\n{body or '    pass'}\n")
            if args[fields] != typed:
                arg_lines.append(f"{typed} = {args[fields]}\n")
            constant = snake(method.name).upper()
            req_t, resp_t = py_type(req), py_type(resp)
            rpc_lines.append(f'{constant} = Rpc("/{svc.full_name}/{method.name}", {req_t}, {resp_t})\n')
            sig = f"_{snake(method.name)}"
            sig_lines.append(
                f"def {sig}(request: {req_t} | None = None, /, **fields: Unpack[{typed}]) -> {req_t}:\n"
                f"    return build({req_t}, request, fields)\n"
            )
            attr = snake(method.name)
            if method.server_streaming:
                api_lines.append(f"    {attr} = streamed({constant}, {sig})")
            elif is_paged(req, resp):
                api_lines.append(f"    {attr} = paged({constant}, {sig}, {items_pick(resp)})")
                api_lines.append(f"    {attr}_page = unary({constant}, {sig}, lambda r: r)")
            else:
                api_lines.append(f"    {attr} = unary({constant}, {sig}, {resource_pick(resp)})")
    modules = {module_of(t.file) for svc in services() for t in _types(svc)}
    ours = {module_of(m.DESCRIPTOR) for m in MODULES} | {"resources_pb2"}
    body = "\n".join(arg_lines) + "\n" + "".join(rpc_lines) + "\n" + "\n".join(sig_lines) + "\n"
    abc = ", ".join(n for n in ("Iterable", "Mapping") if f"{n}[" in body)
    return (
        f"{HEADER}\nimport datetime\nfrom collections.abc import {abc}\nfrom typing import Unpack\n\n"
        f"from google.protobuf import {', '.join(sorted(modules - ours))}\n\n"
        f"from zanepool.v1 import {', '.join(sorted(ours))}\n"
        f"from zanepool_client.methods import {', '.join(FACADE)}\n\n"
        f"{body}\n{API_DOC}" + "\n".join(api_lines) + "\n"
    )


HEADER = """\
\"\"\"The typed facade of every zanepool.v1 RPC (written by zanepool_client._codegen; DO NOT EDIT).\"\"\"

from __future__ import annotations
"""
FACADE = ("CallOptions", "Rpc", "StreamOptions", "build", "paged", "streamed", "unary")
API_DOC = """\
class Api:
    \"\"\"One method per RPC, shared by the async and the sync client (see zanepool_client.methods).\"\"\"
"""


def keyword_set(method: descriptor.MethodDescriptor) -> tuple[tuple[str, str], ...]:
    """The method's keywords: the request fields with their types, then the options' TypedDict."""
    options = "StreamOptions" if method.server_streaming else "CallOptions"
    return (*((f.name, field_type(f)) for f in method.input_type.fields), ("", options))


def _types(svc: descriptor.ServiceDescriptor) -> list[descriptor.Descriptor]:
    out: list[descriptor.Descriptor] = []
    for method in svc.methods:
        for msg in (method.input_type, method.output_type):
            out.append(msg)
            for f in msg.fields:
                if f.message_type is not None and not f.message_type.GetOptions().map_entry:
                    out.append(f.message_type)
                if f.enum_type is not None:
                    out.append(f.enum_type)  # type: ignore[arg-type]
    return out


def formatted(source: str) -> str:
    """The source as ``ruff format`` writes it (so the committed file passes ruff)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    source = formatted(generate())
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != source:
            print(f"{TARGET} is stale: run python -m zanepool_client._codegen", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
