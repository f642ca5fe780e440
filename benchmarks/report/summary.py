"""The report's first section, read in 30 seconds: what each method is, ours against the best
alternative per data set at 4x / 8x / 16x (from the run's margins), and the published numbers of
the compressors this harness does not run, labelled as not measured here."""

from __future__ import annotations

from typing import Any

from ..methods import ABLATIONS, PEERS, PRESETS, describe
from .aggregate import NAMES, Agg
from .compare import MARGIN_BUDGETS, primary_metric
from .tables import fmt, table

NOT_RUN = """\
**Not run here: LLMLingua, LongLLMLingua, LLMLingua-2, Provence.** Each needs a model this \
offline, CPU-only harness does not bundle and would download at run time. LLMLingua and \
LongLLMLingua score tokens with a causal language model (LLaMA-7B in their papers; the \
`llmlingua` package defaults to Llama-2-7B, about 13 GB in fp16: a GPU-sized model). \
LLMLingua-2 labels tokens with XLM-RoBERTa-large (560 M parameters) or multilingual BERT, and \
Provence prunes sentences with a DeBERTa-v3-large reranker (430 M parameters, 1.7 GB of weights). \
Those weights carry non-commercial licences (the LLMLingua-2 MeetingBank models: CC BY-NC-SA \
4.0; Provence: CC BY-NC 4.0, per their model cards; the `llmlingua` code itself is MIT). What \
their papers report is **not measured here**, on other tasks and another metric (the accuracy \
of an LLM reading the compressed prompt, not the recall in this report), so it does not compare \
with the tables below:

- LLMLingua (Jiang et al., EMNLP 2023, arXiv:2310.05736): up to 20x compression with little \
performance loss on GSM8K, BBH, ShareGPT and Arxiv-March23.
- LongLLMLingua (Jiang et al., arXiv:2310.06839, ACL 2024): on NaturalQuestions multi-document \
QA, up to 21.4 % better than the uncompressed prompt with about 4x fewer tokens (GPT-3.5-Turbo; \
17.1 % in the first arXiv version); 94.0 % lower cost on LooGLE; end-to-end latency 1.4x-2.6x \
lower when ~10k-token prompts are compressed 2x-6x.
- LLMLingua-2 (Pan et al., Findings of ACL 2024, arXiv:2403.12968): 3x-6x faster than earlier \
prompt compressors, end-to-end latency 1.6x-2.9x lower at 2x-5x compression (MeetingBank, \
LongBench, ZeroSCROLLS, GSM8K, BBH).
- Provence (Chirkova et al., ICLR 2025, arXiv:2501.16214): context pruning with negligible to no \
drop in QA performance across domains, at almost no extra cost when it also serves as the \
pipeline's reranker; it decides per context how much to prune (no token budget).
"""
"""Published figures of the compressors not run here, with their sources (typed in, not measured:
the section says so)."""


def method_lines(methods: list[str]) -> list[str]:
    """One line per method that ran, in plain words; the ablations in one line."""
    out = ["**The methods** (their code names are used below):", ""]
    for m in [m for m in dict.fromkeys(["ours", *PRESETS, *PEERS, "none"]) if m in methods]:
        short, what = describe(m)
        out.append(f"- `{m}`: {what}" if short == m else f"- `{m}` = **{short}**: {what}")
    ablations = [v for v in ABLATIONS if v in methods]
    if ablations:
        out.append(
            f"- {', '.join(f'`{v}`' for v in ablations)}: ours with one signal switched off "
            "(section Ablations)"
        )
    return [*out, ""]


def _cell(m: dict[str, Any]) -> str:
    clear = "lo" in m and (m["lo"] > 0 or m["hi"] < 0)
    return (
        f"**{m['margin']:+.3f}**{'*' if clear else ''} "
        f"({fmt(m['ours'])} vs {fmt(m['peer_value'])} `{m['peer']}`)"
    )


def versus_lines(agg: Agg, ms: list[dict[str, Any]], datasets: list[str]) -> list[str]:
    """Per data set, on its primary metric: ours minus the best peer at each budget of
    :data:`MARGIN_BUDGETS`, with both scores and the peer's name; then the tally."""
    cells = {(m["dataset"], m["metric"], m["budget"]): m for m in ms}
    body, shown = [], []
    for ds in datasets:
        metric = primary_metric(agg, ds)
        row = [cells.get((ds, metric, b)) for b in MARGIN_BUDGETS]
        if any(row):
            shown += [m for m in row if m]
            body.append(
                [NAMES.get(ds, ds), metric.replace("_", " "), *(_cell(m) if m else "" for m in row)]
            )
    if not body:
        return ["Ours against the peers: not measured (ours or the peers did not run).", ""]
    ahead = sum(m["margin"] > 0.0005 for m in shown)
    behind = sum(m["margin"] < -0.0005 for m in shown)
    clear_ahead = sum(m.get("lo", 0) > 0 for m in shown)
    clear_behind = sum(m.get("hi", 0) < 0 for m in shown)
    return [
        "**Ours against the best alternative** (answer recall where the set has scorable answers, "
        "else the share of gold text kept: both 0-1, higher is better, defined under *The run*; "
        "budget `Nx` "
        f"= input tokens / N). Each cell: ours minus the best of the {len(PEERS)} "
        "peers in that cell, then both scores and that peer; `*` marks a difference whose 95 % "
        "paired-bootstrap interval excludes zero.",
        "",
        *table(["data set", "metric", *MARGIN_BUDGETS], body),
        f"Ours is ahead in {ahead} of these {len(shown)} cells ({clear_ahead} clearly), level in "
        f"{len(shown) - ahead - behind}, and behind in {behind} ({clear_behind} clearly).",
        "",
    ]


def summary_lines(
    agg: Agg,
    ms: list[dict[str, Any]],
    datasets: list[str],
    methods: list[str],
    layouts: list[str] | None = None,
) -> list[str]:
    """The whole first section: methods, ours against the best alternative (and the ``layouts``
    line: :func:`.layouts.layout_summary`), what is not run."""
    return [
        "## In 30 seconds",
        "",
        *method_lines(methods),
        *versus_lines(agg, ms, datasets),
        *(layouts or []),
        NOT_RUN,
    ]
