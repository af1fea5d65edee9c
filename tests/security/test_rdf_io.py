"""Class 2: parsing RDF does no I/O beyond the file (JSON-LD contexts, XML entities, owl:imports)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kglm.cli import main
from kglm.errors import KGLMError, ResourceLimitError, UnsafeInputError
from kglm.kg.rdf import from_rdf
from tests._http import LoopbackServer, serve

CONTEXT = {"@context": {"name": "http://www.w3.org/2000/01/rdf-schema#label",
                        "knows": {"@id": "http://example.org/knows", "@type": "@id"}}}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """Serves the JSON-LD context at ``/ctx.jsonld``."""
    files = {"/ctx.jsonld": json.dumps(CONTEXT).encode()}
    with serve(LoopbackServer(files=files, content_type="application/ld+json")) as state:
        yield state


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/ctx.jsonld"
    sock.close()


def _doc(tmp_path: Path, context: object) -> Path:
    path = tmp_path / "people.jsonld"
    path.write_text(json.dumps({"@context": context, "@graph": [
        {"@id": "http://example.org/alice", "name": "Alice", "knows": "http://example.org/bob"},
        {"@id": "http://example.org/bob", "name": "Bob"},
    ]}))
    return path


def test_remote_context_refused_by_default(tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.url("/ctx.jsonld")
    path = _doc(tmp_path, url)
    with pytest.raises(UnsafeInputError, match=r"ctx\.jsonld.*allow_remote_contexts=True"):
        from_rdf(path)
    assert server.requests == []
    assert main(["kg", "build", str(path), "-o", str(tmp_path / "kg")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and url in err and "--allow-remote-contexts" in err
    assert server.requests == []


def test_remote_context_when_allowed(tmp_path: Path, server: LoopbackServer) -> None:
    path = _doc(tmp_path, [server.url("/ctx.jsonld"), {"extra": "http://example.org/extra"}])
    kg = from_rdf(path, allow_remote_contexts=True, context_timeout=5)
    assert [r.path for r in server.requests] == ["/ctx.jsonld"]
    assert kg.num_triples == 1 and "Alice" in kg.labels_of(kg.entity_id("http://example.org/alice"))


@pytest.mark.parametrize("where", ["file-url", "relative", "import", "nested"])
def test_local_context_refused_by_default(tmp_path: Path, where: str) -> None:
    secret = tmp_path / "ctx.jsonld"
    secret.write_text(json.dumps(CONTEXT))
    context: object = {
        "file-url": secret.as_uri(),
        "relative": "ctx.jsonld",
        "import": {"@import": secret.as_uri()},
    }.get(where, {})
    path = _doc(tmp_path, context)
    if where == "nested":
        doc = json.loads(path.read_text())
        doc["@graph"][0]["@context"] = secret.as_uri()
        path.write_text(json.dumps(doc))
    with pytest.raises(UnsafeInputError, match="ctx.jsonld"):
        from_rdf(path)
    if where != "nested":
        kg = from_rdf(path, allow_remote_contexts=True)
        assert kg.num_triples == 1


def test_silent_server_times_out(tmp_path: Path, silent_server: str) -> None:
    path = _doc(tmp_path, silent_server)
    started = time.monotonic()
    with pytest.raises(KGLMError, match="ctx.jsonld"):
        from_rdf(path, allow_remote_contexts=True, context_timeout=1)
    assert time.monotonic() - started < 10


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
 <rdf:Description rdf:about="http://example.org/a"><rdfs:label>&lol9;</rdfs:label></rdf:Description>
</rdf:RDF>
"""


def test_billion_laughs_refused_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "laughs.rdf"
    path.write_text(BILLION_LAUGHS)
    started = time.monotonic()
    with pytest.raises(UnsafeInputError, match="billion laughs"):
        from_rdf(path)
    assert time.monotonic() - started < 5
    assert main(["kg", "build", str(path), "-o", str(tmp_path / "kg")]) == 1
    assert "laughs.rdf" in capsys.readouterr().err


def test_billion_laughs_after_a_long_comment(tmp_path: Path) -> None:
    path = tmp_path / "padded.rdf"
    head, rest = BILLION_LAUGHS.split("<!DOCTYPE", 1)
    path.write_text(head + "<!-- " + "x" * (3 << 20) + " -->\n<!DOCTYPE" + rest)
    with pytest.raises(UnsafeInputError, match="billion laughs"):
        from_rdf(path)


@pytest.mark.parametrize("trick", ["comment-closes-subset", "char-ref-nesting", "lt-in-comment"])
def test_entity_tricks_refused(tmp_path: Path, trick: str) -> None:
    head, rest = BILLION_LAUGHS.split("<!DOCTYPE rdf:RDF [", 1)
    if trick == "comment-closes-subset":
        text = head + "<!DOCTYPE rdf:RDF [\n <!-- ]> -->" + rest
    elif trick == "lt-in-comment":
        text = head + "<!DOCTYPE rdf:RDF [\n <!-- <a -->" + rest
    else:
        text = head + '<!DOCTYPE rdf:RDF [ <!ENTITY a "x"> <!ENTITY b "&#38;a;&#38;a;&#38;a;"> ]>' + rest.split("]>", 1)[1]
    path = tmp_path / "trick.rdf"
    path.write_text(text)
    with pytest.raises(UnsafeInputError):
        from_rdf(path)


def test_flat_entity_blowup_refused(tmp_path: Path) -> None:
    big = "x" * 4000
    refs = "&big;" * 20_000
    path = tmp_path / "flat.rdf"
    path.write_text(BILLION_LAUGHS.split("<!DOCTYPE")[0] + f'<!DOCTYPE rdf:RDF [ <!ENTITY big "{big}"> ]>\n'
                    + BILLION_LAUGHS.split("]>\n", 1)[1].replace("&lol9;", refs))
    with pytest.raises(ResourceLimitError, match="expand"):
        from_rdf(path)


def test_namespace_entities_still_parse(tmp_path: Path) -> None:
    path = tmp_path / "onto.owl"
    path.write_text("""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
 <!ENTITY ex "http://example.org/" >
 <!ENTITY rdfs "http://www.w3.org/2000/01/rdf-schema#" >
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="&rdfs;">
 <rdf:Description rdf:about="&ex;a"><rdfs:label>A</rdfs:label><rdfs:seeAlso rdf:resource="&ex;b"/></rdf:Description>
</rdf:RDF>
""")
    kg = from_rdf(path)
    assert kg.num_triples == 1 and "http://example.org/a" in kg.entities


def test_external_entity_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xxe.rdf"
    path.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "{secret.as_uri()}"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
 <rdf:Description rdf:about="http://example.org/a"><rdfs:label>x&xxe;</rdfs:label>
 <rdfs:seeAlso rdf:resource="http://example.org/b"/></rdf:Description>
</rdf:RDF>
""")
    try:
        kg = from_rdf(path)
    except (KGLMError, ValueError):
        return  # refused: fine
    assert all("TOP-SECRET" not in label for e in range(kg.num_entities) for label in kg.labels_of(e))


def test_parameter_entity_refused(tmp_path: Path, server: LoopbackServer) -> None:
    path = tmp_path / "pe.rdf"
    path.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY % remote SYSTEM "{server.url('/dtd')}"> %remote; ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>
""")
    with pytest.raises(UnsafeInputError, match="parameter entity"):
        from_rdf(path)
    assert server.requests == []


def test_owl_imports_not_followed(tmp_path: Path, server: LoopbackServer) -> None:
    path = tmp_path / "onto.ttl"
    path.write_text(f"""@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<http://example.org/onto> a owl:Ontology ; owl:imports <{server.url('/other.ttl')}> .
<http://example.org/a> rdfs:subClassOf <http://example.org/b> .
""")
    kg = from_rdf(path)
    assert kg.num_triples == 3
    assert server.requests == []
