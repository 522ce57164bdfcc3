"""Checks the Power BI project in powerbi/ (issue 6):
1. every JSON file validates against the schema its "$schema" names, read
   from the offline copies in ../shared/powerbi-schemas (skipped, with a
   message, where they are absent);
2. the TMDL files are well-formed, by a strict check written for the
   subset of TMDL the project uses (tab indentation, known objects and
   properties, expressions deeper than their owner, unique lineage tags,
   relationships and references that resolve);
3. every table and column the model reads, and every field the report's
   visuals use, exists in the database's c360 schema (given as a file of
   "table|column|type" lines) with a compatible type.
usage: check_powerbi.py PROJECT_DIR SCHEMAS_DIR DB_COLUMNS_FILE
Prints "ok ..." / "FAIL ..." lines; exits 1 on any failure."""
import json
import os
import re
import sys
from pathlib import Path

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

project, schemas, db_file = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
failures = []


def fail(msg):
    failures.append(msg)
    print(f"  FAIL {msg}")


def ok(msg):
    print(f"  ok   {msg}")


# 1. JSON files against their schemas --------------------------------------
PREFIX = "https://developer.microsoft.com/json-schemas/"
json_files = sorted(p for p in project.rglob("*") if p.is_file() and
                    (p.suffix in (".json", ".pbip", ".pbir", ".pbism") or p.name == ".platform"))


def retrieve(uri):
    path = schemas / uri[len(PREFIX):] if uri.startswith(PREFIX) else Path(uri.removeprefix("file://"))
    return Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT7)


if not schemas.is_dir():
    print(f"  SKIP JSON schema validation: {schemas} not found (../shared is absent in a fresh clone)")
else:
    registry = Registry(retrieve=retrieve)
    for path in json_files:
        doc = json.loads(path.read_text())
        url = doc.get("$schema", "")
        if not url.startswith(PREFIX) or not (schemas / url[len(PREFIX):]).is_file():
            fail(f"{path.relative_to(project)}: $schema {url!r} is not one of Microsoft's published schemas")
            continue
        local = schemas / url[len(PREFIX):]
        schema = json.loads(local.read_text())
        # Relative $refs resolve against the schema's own published URL.
        schema.setdefault("$id", url)
        errors = sorted(Draft7Validator(schema, registry=registry).iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            for e in errors[:5]:
                fail(f"{path.relative_to(project)}: {'/'.join(map(str, e.path))}: {e.message[:200]}")
        else:
            ok(f"{path.relative_to(project)} valid against {url[len(PREFIX):]}")

# 2. TMDL ------------------------------------------------------------------
OBJECTS = {"database", "model", "table", "column", "measure", "partition", "relationship", "expression",
           "annotation", "ref", "dataAccessOptions"}
PROPERTIES = {"compatibilityLevel", "culture", "defaultPowerBIDataSourceVersion", "sourceQueryCulture",
              "lineageTag", "dataType", "formatString", "summarizeBy", "sourceColumn", "mode", "fromColumn",
              "toColumn", "dataCategory", "crossFilteringBehavior", "isActive"}
FLAGS = {"isKey", "isHidden", "legacyRedirects", "returnErrorValuesAsNull"}
DATA_TYPES = {"string", "int64", "decimal", "double", "dateTime", "boolean"}
NAME = r"(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_]*)"

tables = {}  # table -> {"columns": {name: dataType}, "measures": set(), "partitions": int}
tags = {}
relationships = []
refs = []
model_dir = project / "c360.SemanticModel" / "definition"


def unquote(name):
    return name[1:-1].replace("''", "'") if name.startswith("'") else name


for path in sorted(model_dir.rglob("*.tmdl")):
    rel = path.relative_to(project)
    lines = path.read_text().split("\n")
    stack = []  # (indent, kind, name)
    expr_indent = None  # lines at or deeper than this belong to an expression
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line != line.rstrip():
            fail(f"{rel}:{no}: trailing whitespace")
        indent = len(line) - len(line.lstrip("\t"))
        text = line.strip()
        if expr_indent is not None:
            if indent >= expr_indent:
                continue  # DAX or M: its own spacing is content
            expr_indent = None
        if line[indent:indent + 1] == " ":
            fail(f"{rel}:{no}: indentation must be tabs")
        if text.startswith("///"):
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1] if stack else (-1, None, None)
        if indent > parent[0] + 1:
            fail(f"{rel}:{no}: indented deeper than its parent")
        word = re.match(r"[A-Za-z]+", text)
        word = word.group(0) if word else ""
        if word == "ref":
            m = re.fullmatch(rf"ref table ({NAME})", text)
            if not m or indent != 0:
                fail(f"{rel}:{no}: malformed ref: {text}")
            else:
                refs.append(unquote(m.group(1)))
            continue
        if word in OBJECTS:
            m = re.fullmatch(rf"(\w+)(?: ({NAME}|[0-9a-f]{{8}}(?:-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}))?(?: = ?(.*))?", text)
            if not m:
                fail(f"{rel}:{no}: malformed {word} declaration: {text}")
                continue
            name = unquote(m.group(2) or "")
            if word == "table":
                tables.setdefault(name, {"columns": {}, "measures": set(), "partitions": 0})
            elif word in ("column", "measure", "partition"):
                if parent[1] != "table":
                    fail(f"{rel}:{no}: {word} outside a table")
                    continue
                t = tables[parent[2]]
                if word == "column":
                    t["columns"][name] = None
                elif word == "measure":
                    t["measures"].add(name)
                    if not (m.group(3) or "").strip():
                        expr_indent = indent + 2  # multi-line DAX
                else:
                    t["partitions"] += 1
                    if (m.group(3) or "").strip() != "m":
                        fail(f"{rel}:{no}: partition must be an M partition")
            elif word == "relationship":
                relationships.append({"name": name})
            stack.append((indent, word, name))
        elif word in PROPERTIES:
            m = re.fullmatch(r"(\w+): (.+)", text)
            if not m:
                fail(f"{rel}:{no}: property without a value: {text}")
                continue
            key, value = m.groups()
            if key == "lineageTag":
                if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
                    fail(f"{rel}:{no}: lineageTag is not a GUID")
                if value in tags:
                    fail(f"{rel}:{no}: lineageTag repeats {tags[value]}")
                tags[value] = f"{rel}:{no}"
            if key == "dataType":
                if value not in DATA_TYPES:
                    fail(f"{rel}:{no}: unknown dataType {value}")
                elif parent[1] == "column":
                    owner = [s for s in stack if s[1] == "table"][-1][2]
                    tables[owner]["columns"][parent[2]] = value
            if key in ("fromColumn", "toColumn"):
                if parent[1] != "relationship":
                    fail(f"{rel}:{no}: {key} outside a relationship")
                else:
                    relationships[-1][key] = value
        elif word in FLAGS and text == word:
            pass
        elif text in ("source =",) or re.fullmatch(r"source = .+", text):
            if parent[1] != "partition":
                fail(f"{rel}:{no}: source outside a partition")
            if text == "source =":
                expr_indent = indent + 2
        else:
            fail(f"{rel}:{no}: unknown TMDL line: {text}")
    ok(f"{rel} parsed")

for name, t in tables.items():
    if not t["columns"] or t["partitions"] != 1:
        fail(f"table {name}: needs columns and exactly one partition")
    for c, dt in t["columns"].items():
        if dt is None:
            fail(f"table {name}: column {c} has no dataType")
if sorted(refs) != sorted(tables):
    fail(f"model.tmdl refs {sorted(refs)} differ from the tables {sorted(tables)}")
for r in relationships:
    for end in ("fromColumn", "toColumn"):
        t, _, c = r.get(end, "").partition(".")
        if c not in tables.get(t, {}).get("columns", {}):
            fail(f"relationship {r['name']}: {end} {r.get(end)} is not a model column")
ok(f"model: {len(tables)} tables, {sum(len(t['columns']) for t in tables.values())} columns, "
   f"{sum(len(t['measures']) for t in tables.values())} measures, {len(relationships)} relationships")

# 3. Against the database ---------------------------------------------------
COMPATIBLE = {"string": {"text"}, "int64": {"integer", "bigint"}, "boolean": {"boolean"},
              "dateTime": {"date", "timestamp without time zone", "timestamp with time zone"}}
db = {}
for line in db_file.read_text().splitlines():
    t, c, ty = line.split("|")
    db.setdefault(t, {})[c] = ty
for name, t in tables.items():
    if name not in db:
        fail(f"table {name}: no relation c360.{name} in the database")
        continue
    for c, dt in t["columns"].items():
        ty = db[name].get(c)
        good = ty is not None and (ty.startswith("numeric") if dt == "decimal" else ty in COMPATIBLE.get(dt, ()))
        if not good:
            fail(f"{name}.{c}: model type {dt}, database type {ty}")
    ok(f"table {name}: {len(t['columns'])} columns exist in c360.{name} with compatible types")


def fields(node):
    if isinstance(node, dict):
        for kind in ("Column", "Measure"):
            if kind in node and "Property" in node[kind]:
                yield kind, node[kind]["Expression"]["SourceRef"]["Entity"], node[kind]["Property"]
        for v in node.values():
            yield from fields(v)
    elif isinstance(node, list):
        for v in node:
            yield from fields(v)


visuals = sorted((project / "c360.Report").rglob("visual.json"))
for path in visuals:
    for kind, entity, prop in fields(json.loads(path.read_text())):
        t = tables.get(entity)
        known = t and (prop in t["columns"] if kind == "Column" else prop in t["measures"])
        if not known:
            fail(f"{path.relative_to(project)}: {kind.lower()} {entity}[{prop}] is not in the model")
ok(f"{len(visuals)} visuals use only model fields")
pages = json.loads((project / "c360.Report/definition/pages/pages.json").read_text())["pageOrder"]
for p in pages:
    if not (project / "c360.Report/definition/pages" / p / "page.json").is_file():
        fail(f"page {p} listed in pages.json has no page.json")
ok(f"pages: {', '.join(pages)}")
sys.exit(1 if failures else 0)
