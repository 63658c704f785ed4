"""Running an experiment: every (variant, model, case, repeat) sent, scored and stored.

Work goes through the providers' own ``acomplete`` (so the retry policy, Retry-After and
repairs apply, and attempts are counted), at most ``concurrency`` requests at a time. Each
result is committed to the store as it finishes; a resumed run sends only what is missing.
With a budget, no request starts that could take the spend past it: each request reserves
its worst case (its input plus ``max_tokens`` of output) until it finishes, so the spend
can exceed the budget only by what requests in flight spend beyond their reservation.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlib._context import repeat_index
from promptlib._errors import (
    ConfigurationError,
    ModelOutputError,
    OutputValidationError,
    PromptlibError,
    ProviderError,
    QuotaExceededError,
    RequestRejectedError,
)
from promptlib._shown import plain_amount
from promptlib.evals._commits import GroupCommit
from promptlib.evals._experiment import Experiment
from promptlib.evals._limits import RateLimiter
from promptlib.evals._progress import Progress
from promptlib.evals._rows import Item, failed_row, row_identity
from promptlib.evals._store import ResultRow, Store, StoreError, redacted

if TYPE_CHECKING:
    from promptlib._messages import Prompt
    from promptlib._providers.completion import Completion
    from promptlib._providers.protocol import Provider
    from promptlib.evals._dataset import Case

__all__ = ["RunEstimate", "RunResult", "arun", "estimate", "resume", "run"]

ProviderFor = Callable[[str], "tuple[Provider, str]"]
_log = logging.getLogger("promptlib.evals")


@dataclass(frozen=True)
class RunResult:
    """How a run ended.

    Attributes:
        run_id: the run's id in the store.
        status: ``finished``; ``incomplete`` (some cases failed at the provider after every
            retry: a resume sends them again); ``over budget``; ``interrupted``; or
            ``failed`` (stopped by a refused key, an account out of credit or an unknown
            model).
        total: the work items of the run (variants × models × cases × repeats).
        done: items with a result now (this time and before).
        sent: items processed this time.
        errors: items that ended in an error this time.
        spent: dollars spent this time (known costs only).
        store: the store's path.
    """

    run_id: str
    status: str
    total: int
    done: int
    sent: int
    errors: int
    spent: Decimal
    store: Path


@dataclass(frozen=True)
class RunEstimate:
    """What a run is expected to cost, before it starts.

    Attributes:
        requests: the requests it sends (repairs and retries not counted).
        dollars: the expected cost, or ``None`` when a model has no price.
        sampled: cases rendered and counted per variant and model (the rest are scaled).
        unpriced: models the catalog has no price for.
    """

    requests: int
    dollars: Decimal | None
    sampled: int
    unpriced: tuple[str, ...] = ()

    def __str__(self) -> str:
        cost = "an unknown cost" if self.dollars is None else f"about ${self.dollars:.4f}"
        unpriced = f" (no price for {', '.join(self.unpriced)})" if self.unpriced else ""
        return f"{self.requests:,} requests, {cost}{unpriced}"


def estimate(
    experiment: Experiment,
    *,
    providers: ProviderFor | Mapping[str, Provider] | None = None,
    sample: int = 50,
) -> RunEstimate:
    """The expected cost of running ``experiment``: input tokens counted on up to ``sample``
    cases per variant and model, and each reply's ``max_tokens`` (else the experiment's
    ``expected_output_tokens``), priced from the catalog (at batch prices for a batched
    experiment). Nothing is sent."""
    from promptlib._tokens.cost import Usage, cost_of
    from promptlib._tokens.counting import count_tokens

    lookup = _provider_lookup(providers, experiment.providers)
    cases = [c for c in experiment.dataset if in_shard(c.id, experiment.shard)]
    total: Decimal | None = Decimal(0)
    unpriced: list[str] = []
    requests = 0
    for variant in experiment.resolved:
        for model in experiment.models:
            chosen = experiment.model_for(variant, model)
            name = lookup(chosen)[1]
            count = len(cases) * experiment.repeats
            requests += count
            per_request: list[Decimal] = []
            priced = True
            for case in cases[:sample]:
                try:
                    prompt = variant.template.render(**case.inputs)
                except PromptlibError:
                    continue  # a case that cannot render sends nothing
                limit = {**prompt.params, **experiment.params}.get("max_tokens")
                output = limit if isinstance(limit, int) else experiment.expected_output_tokens
                try:
                    tokens = count_tokens(prompt, name).total
                    price = cost_of(Usage(tokens, output), name, batch=experiment.batch).total
                except ConfigurationError:
                    price = None
                if price is None:
                    priced = False
                    break
                per_request.append(price)
            if not priced:
                unpriced.append(chosen)
                total = None
            elif total is not None and per_request:
                total += sum(per_request, Decimal(0)) / len(per_request) * count
    return RunEstimate(requests, total, min(sample, len(cases)), tuple(unpriced))


def run(
    experiment: Experiment,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    run_id: str | None = None,
    providers: ProviderFor | Mapping[str, Provider] | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Run ``experiment`` to the end (or its budget); see :func:`arun`."""
    _no_running_loop("run")
    return asyncio.run(
        arun(experiment, store=store, run_id=run_id, providers=providers, progress=progress)
    )


def resume(
    experiment: Experiment,
    run_id: str,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    providers: ProviderFor | Mapping[str, Provider] | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Finish an interrupted run: only the items without a result are sent."""
    _no_running_loop("resume")
    return asyncio.run(
        arun(
            experiment,
            store=store,
            run_id=run_id,
            providers=providers,
            progress=progress,
            resume=True,
        )
    )


async def arun(
    experiment: Experiment,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    run_id: str | None = None,
    providers: ProviderFor | Mapping[str, Provider] | None = None,
    progress: bool | None = None,
    resume: bool = False,
) -> RunResult:
    """Run ``experiment``, storing each result as it finishes.

    Args:
        experiment: what to run.
        store: the results store (a :class:`Store` or a path; default
            ``.promptlib/evals.sqlite``).
        run_id: the run's id (default: a new one); with ``resume=True``, the run to finish.
        providers: how a model string finds its provider: a mapping from model string to
            provider, or a function returning ``(provider, model name)``; default
            :func:`promptlib.get_provider` (``mock:...`` runs offline).
        progress: show a progress bar (default: when stderr is a terminal).
        resume: continue ``run_id``, sending only what has no result yet.

    Raises:
        ConfigurationError: an unknown model or provider, or a budget already spent.
        StoreError: the store cannot be used, or there is no such run to resume.
    """
    owned = not isinstance(store, Store)
    db = store if isinstance(store, Store) else Store(*(() if store is None else (store,)))
    try:
        lookup = _provider_lookup(providers, experiment.providers)
        runner = _Runner(experiment, db, lookup, progress)
        with _fewer_collections():
            return await runner.go(run_id, resume)
    finally:
        if owned:
            db.close()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect garbage less often while a run goes on.

    A run makes many short-lived objects per request (SDK models, responses, rows), which
    start young-generation collections that then walk everything the program holds;
    freezing what exists before the run and collecting less often cuts that work, and
    the settings are put back afterwards.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _provider_lookup(
    providers: ProviderFor | Mapping[str, Provider] | None, named: Mapping[str, Provider]
) -> ProviderFor:
    from promptlib._providers.registry import get_provider

    made: dict[str, Any] = {}

    def default(model: str) -> tuple[Provider, str]:
        family, colon, rest = model.partition(":")
        if colon and family in named:
            return named[family], rest
        provider, name = get_provider(model)
        # One provider per family: clients (and their connections) are shared.
        kept = made.setdefault(family if colon else model, provider)
        return kept, name

    if providers is None:
        return default
    if isinstance(providers, Mapping):
        table = dict(providers)

        def from_table(model: str) -> tuple[Provider, str]:
            if model in table:
                return table[model], model.split(":", 1)[-1]
            return default(model)

        return from_table
    return providers


class _Runner:
    def __init__(
        self,
        experiment: Experiment,
        store: Store,
        provider_for: ProviderFor,
        progress: bool | None,
    ) -> None:
        self.experiment = experiment
        self.store = store
        self.provider_for = provider_for
        self.show_progress: bool = sys.stderr.isatty() if progress is None else progress
        self.spent: Decimal = Decimal(0)
        self.previous: Decimal = Decimal(0)  # spent by earlier sessions of a resumed run
        self.reserved: Decimal = Decimal(0)
        self.sent: int = 0
        self.errors: int = 0
        self.over_budget: bool = False
        self.budget: Decimal | None = (
            None if experiment.budget is None else Decimal(str(experiment.budget))
        )
        self.providers: dict[str, tuple[Provider, str]] = {}
        self.redactors: dict[str, Callable[[str], str]] = {}
        self.limiters: dict[str, RateLimiter] = {}
        self.commits: GroupCommit = GroupCommit(store)

    # --- the run -----------------------------------------------------------------------------

    async def go(self, run_id: str | None, resume: bool) -> RunResult:
        experiment = self.experiment
        _no_keys_in_names(experiment)
        items = list(self._items())
        for model in dict.fromkeys(item.model for item in items):
            self._provider(model)  # an unknown model fails before anything is stored or sent
        self._check_prices({item.model for item in items})
        if resume:
            if run_id is None:
                raise ConfigurationError("resume needs the id of the run to finish")
            info = self.store.run(run_id)
            self._check_same(info.manifest)
            run_id = info.run_id
        else:
            run_id = run_id or _new_run_id(experiment.name)
        with _run_lock(self.store, run_id):
            if resume:
                done = self.store.done(run_id)
                # The budget is for the whole run: what earlier sessions spent counts.
                self.spent = self.previous = self.store.spent(run_id)
                if experiment.budget != info.manifest.get("budget"):
                    self.store.update_manifest(run_id, budget=experiment.budget)
            else:
                expected = estimate(experiment, providers=self.provider_for)
                manifest = self._manifest() | {
                    "estimate": {
                        "requests": expected.requests,
                        "dollars": None if expected.dollars is None else str(expected.dollars),
                        "sampled": expected.sampled,
                    }
                }
                _log.info("%s: %s", experiment.name, expected)
                budget, dollars = self.budget, expected.dollars
                if budget is not None and dollars is not None and dollars > budget:
                    _log.warning(
                        "%s: the estimate (%s) is over the budget ($%s): the run will stop "
                        "before its end",
                        experiment.name,
                        expected,
                        self.budget,
                    )
                self.store.start_run(run_id, experiment.name, manifest)
                done = set()
            return await self._run(run_id, items, done)

    async def _run(
        self, run_id: str, items: list[Item], done: set[tuple[str, str, str, int]]
    ) -> RunResult:
        experiment = self.experiment
        todo = [item for item in items if item.key not in done]
        if self.budget is not None and todo and self.spent >= self.budget:
            self.store.set_status(run_id, "over budget")
            raise ConfigurationError(
                f"experiment {experiment.name!r}: the budget (${self.budget}) is already "
                f"spent (${self.spent} so far); raise it to go on (--budget)"
            )
        self.store.set_status(run_id, "running")
        bar = Progress(len(items), len(items) - len(todo), self.show_progress)
        queue: Iterator[Item] = iter(todo)
        status = "finished"
        workers = [
            asyncio.create_task(self._worker(queue, run_id, bar))
            for _ in range(0 if experiment.batch else min(experiment.concurrency, len(todo)))
        ]
        try:
            if experiment.batch:
                from promptlib.evals._batched import run_batched

                await run_batched(self, run_id, todo, bar)
            await asyncio.gather(*workers)
        except (asyncio.CancelledError, KeyboardInterrupt, StoreError):
            status = "interrupted"  # a resume goes on from the results written
            raise
        except BaseException:
            # A key the provider refused, an account out of credit: no case will get
            # through, so the run stops; what is unsent is sent by a resume.
            status = "failed"
            raise
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            bar.close()
            try:
                if status == "finished" and self.over_budget:
                    status = "over budget"
                elif status == "finished" and self.store.unfinished(run_id):
                    status = "incomplete"
                self.store.set_status(run_id, status)
            except (sqlite3.Error, StoreError):  # the store cannot be written: say why, not this
                if status == "finished":
                    raise
                _log.warning("%s: could not record the run's status %r", run_id, status)
        return RunResult(
            run_id,
            status,
            len(items),
            len(self.store.done(run_id)),
            self.sent,
            self.errors,
            self.spent - self.previous,
            self.store.path,
        )

    def _check_prices(self, models: set[str]) -> None:
        """A budget needs a price for every model: refuse one that cannot be kept."""
        if self.budget is None:
            return
        from promptlib._tokens.catalog import Catalog

        for model in sorted(models):
            name = self._provider(model)[1]
            try:
                info = Catalog.default().get(name)
            except ConfigurationError:
                info = None
            batched = self.experiment.batch
            prices = (info.batch_input, info.batch_output) if info and batched else None
            if info is not None and not batched:
                prices = (info.input, info.output)
            if prices is None or None in prices:
                kind = "batch price" if batched else "price"
                raise ConfigurationError(
                    f"experiment {self.experiment.name!r}: a budget cannot be kept for model "
                    f"{model!r}: the catalog has no {kind} for {name!r}. Add its prices to "
                    'your catalog ([tool.promptlib] models = "models.toml"), or run '
                    "without a budget"
                )

    def _check_same(self, manifest: Mapping[str, Any]) -> None:
        """Refuse to resume a run with a different dataset or different templates."""
        experiment = self.experiment
        dataset = manifest.get("dataset", {})
        if dataset.get("hash") != experiment.dataset.hash:
            raise ConfigurationError(
                f"the dataset changed since run {experiment.name!r} started "
                f"({dataset.get('hash')} then, {experiment.dataset.hash} now): start a new run"
            )
        settings = {
            "shard": _shard_text(experiment.shard),
            "repeats": experiment.repeats,
            "params": dict(experiment.params),
            "models": list(experiment.models),
            "scorers": [getattr(s, "name", type(s).__name__) for s in experiment.scorers],
        }
        for key, now_value in settings.items():
            if key in manifest and manifest[key] != redacted(now_value):
                raise ConfigurationError(
                    f"the experiment's {key} changed since the run started "
                    f"({manifest[key]!r} then, {now_value!r} now): results made under "
                    "different settings would be mixed in one run; start a new run"
                )
        then = {v["label"]: v["template_hash"] for v in manifest.get("variants", [])}
        now = {v.label: v.template_hash for v in experiment.resolved}
        if then != now:
            changed = sorted(
                label for label in then.keys() | now.keys() if then.get(label) != now.get(label)
            )
            raise ConfigurationError(
                f"the variants changed since the run started ({', '.join(changed)}): start a "
                "new run, or resume with the same templates"
            )

    def _items(self) -> Iterator[Item]:
        experiment = self.experiment
        cases = [c for c in experiment.dataset if in_shard(c.id, experiment.shard)]
        for variant in experiment.resolved:
            for model in experiment.models:
                chosen = experiment.model_for(variant, model)
                for case in cases:
                    for repeat in range(experiment.repeats):
                        yield Item(variant, chosen, case, repeat)

    async def _worker(self, queue: Iterator[Item], run_id: str, bar: Progress) -> None:
        for item in queue:
            prompt, error = self._render(item)
            reservation = Decimal(0)
            if self.budget is not None and prompt is not None:
                reservation = self._worst_case(prompt, item.model)
                if self.spent + self.reserved + reservation > self.budget:
                    if not self.over_budget:
                        _log.warning(
                            "%s: stopping new requests: $%s spent and $%s in flight leave no "
                            "room under the budget of $%s",
                            self.experiment.name,
                            plain_amount(self.spent),
                            plain_amount(self.reserved),
                            plain_amount(self.budget),
                        )
                    self.over_budget = True
                    return
            self.reserved += reservation
            try:
                limiter = self._limiter(item.model)
                if limiter is not None and prompt is not None:
                    counted = limiter.limit.tokens_per_minute is not None
                    await limiter.acquire(self._tokens(prompt, item.model) if counted else 0)
                row = await self._process(item, run_id, prompt, error)
            finally:
                self.reserved -= reservation
            await self.record(item, row, bar)

    async def record(self, item: Item, row: ResultRow, bar: Progress) -> None:
        """Account for a result and store it (committed with the others of this turn)."""
        self.sent += 1
        self.errors += row.error is not None
        if row.cost is not None:
            self.spent += Decimal(row.cost)  # before the wait: the budget sees it at once
        await self.commits.add(row, self._redactor(item.model))
        bar.advance(row.error is not None, self.spent)

    def _render(self, item: Item) -> tuple[Prompt[Any] | None, str | None]:
        try:
            prompt = item.variant.template.render(**item.case.inputs)
        except PromptlibError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        params = self.experiment.params
        if params:
            prompt = dataclasses.replace(prompt, params={**prompt.params, **params})
        return prompt, None

    def _provider(self, model: str) -> tuple[Provider, str]:
        found = self.providers.get(model)
        if found is None:
            found = self.providers[model] = self.provider_for(model)
        return found

    def _redactor(self, model: str) -> Callable[[str], str]:
        """What removes the provider's keys from a text, wherever a server may have
        echoed them (and anything key-shaped)."""
        found = self.redactors.get(model)
        if found is None:
            from promptlib._secrets import redact

            provider = self._provider(model)[0]
            secrets_of = getattr(provider, "_secrets", None)
            secrets = tuple(secrets_of()) if callable(secrets_of) else ()
            found = self.redactors[model] = functools.partial(redact, secrets=secrets)
        return found

    def _limiter(self, model: str) -> RateLimiter | None:
        limits = self.experiment.rate_limits
        if not limits:
            return None
        key = model if model in limits else model.partition(":")[0]
        if key not in limits:
            return None
        limiter = self.limiters.get(key)
        if limiter is None:
            limiter = self.limiters[key] = RateLimiter(limits[key])
        return limiter

    def _tokens(self, prompt: Prompt[Any], model: str) -> int:
        """The tokens a request may use: its counted input and its output allowance."""
        from promptlib._tokens.counting import count_tokens

        name = self._provider(model)[1]
        limit = prompt.params.get("max_tokens")
        output = limit if isinstance(limit, int) else self.experiment.expected_output_tokens
        try:
            return count_tokens(prompt, name).total + output
        except ConfigurationError:
            return count_tokens(prompt, "gpt-4o-mini").total + output

    def _worst_case(self, prompt: Prompt[Any], model: str) -> Decimal:
        from promptlib._tokens.cost import Usage, cost_of
        from promptlib._tokens.counting import count_tokens

        name = self._provider(model)[1]
        limit = prompt.params.get("max_tokens")
        output = limit if isinstance(limit, int) else self.experiment.expected_output_tokens
        try:
            tokens = count_tokens(prompt, name).total
            batched = self.experiment.batch
            total = cost_of(Usage(tokens, max(output, 0)), name, batch=batched).total
        except ConfigurationError:
            return Decimal(0)  # a model without a price: refused with a budget beforehand
        if batched:
            return total or Decimal(0)  # a batch does not repair
        # A repair sends the conversation again: reserve for every request a call may send.
        policy = getattr(self._provider(model)[0], "retry", None)
        repairs = getattr(policy, "repairs", 2)
        return (total or Decimal(0)) * (1 + (repairs if isinstance(repairs, int) else 2))

    async def _process(
        self, item: Item, run_id: str, prompt: Prompt[Any] | None, error: str | None
    ) -> ResultRow:
        common = row_identity(run_id, item, prompt)
        if prompt is None:
            return failed_row(common, error or "", None, None, 0)
        provider, name = self._provider(item.model)
        started = time.perf_counter()
        repeat = repeat_index.set(item.repeat)  # recordings tell repeats apart by it
        try:
            completion = await provider.acomplete(prompt, name)
        except QuotaExceededError:
            raise  # no case will get through until credit is added: stop the run
        except (ProviderError, ModelOutputError) as exc:
            if isinstance(exc, RequestRejectedError) and exc.status == 404:
                raise  # an unknown model or endpoint: every case would fail the same way
            usage = getattr(exc, "usage", None)
            text = getattr(exc, "text", None)
            attempts = exc.attempts if isinstance(exc, ProviderError) else 0
            if isinstance(exc, OutputValidationError):
                attempts = len(exc.attempts)
            message = f"{type(exc).__name__}: {exc}"
            return failed_row(
                common, message, usage, text, attempts, name, time.perf_counter() - started
            )
        finally:
            repeat_index.reset(repeat)
        return await self._scored(common, item.case, completion)

    async def _scored(
        self, common: dict[str, Any], case: Case, completion: Completion[Any]
    ) -> ResultRow:
        from promptlib.evals._scorers import reply_output, run_scorer

        scores = {}
        for scorer in self.experiment.scorers:
            score = await run_scorer(scorer, case, completion)
            scores[score.name] = _score_dict(score)
            if score.cost is not None:
                self.spent += score.cost
        usage = completion.usage
        return ResultRow(
            **common,
            text=completion.text,
            output=_jsonable(reply_output(completion)),
            scores=scores,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cost=None if completion.cost.total is None else str(completion.cost.total),
            latency=completion.latency,
            attempts=completion.attempts,
            error=None,
        )

    def _manifest(self) -> dict[str, Any]:
        import promptlib

        experiment = self.experiment
        return {
            "promptlib": promptlib.__version__,
            "git_commit": _git_commit(),
            "dataset": {
                "name": experiment.dataset.name,
                "hash": experiment.dataset.hash,
                "cases": len(experiment.dataset),
                "path": str(experiment.dataset.path) if experiment.dataset.path else None,
            },
            "variants": [v.to_dict() for v in experiment.resolved],
            "models": list(experiment.models),
            "prices": _prices(
                {
                    experiment.model_for(v, m)
                    for v in experiment.resolved
                    for m in experiment.models
                },
                self.provider_for,
            ),
            "scorers": [getattr(s, "name", type(s).__name__) for s in experiment.scorers],
            "batch": experiment.batch,
            "shard": _shard_text(experiment.shard),
            "repeats": experiment.repeats,
            "params": dict(experiment.params),
            "concurrency": experiment.concurrency,
            "budget": experiment.budget,
            "seed": experiment.seed,
            "config": experiment.config,
        }


def _no_keys_in_names(experiment: Experiment) -> None:
    """Case ids, variant labels and model names are stored and shown as they are: one that
    looks like a credential is refused before anything is stored or sent."""
    from promptlib._secrets import redact

    named = [("case id", case.id) for case in experiment.dataset]
    named += [("variant", v.label) for v in experiment.resolved]
    named += [("model", m) for m in experiment.models if m]
    for what, name in named:
        shown = redact(name)
        if shown != name:
            raise ConfigurationError(
                f"the {what} {shown!r} holds what looks like a key or password; results are "
                f"stored and reported under it, so rename it (for a server's password, use "
                "[providers.NAME] with api_key_env)"
            )


def in_shard(case_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether case ``case_id`` belongs to part ``shard`` = (i, n): by a hash of the id, the
    same on every machine and Python version."""
    if shard is None:
        return True
    import hashlib

    digest = int.from_bytes(hashlib.sha256(case_id.encode("utf-8")).digest()[:8], "big")
    return digest % shard[1] == shard[0] - 1


def _shard_text(shard: tuple[int, int] | None) -> str | None:
    return None if shard is None else f"{shard[0]}/{shard[1]}"


def _no_running_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise ConfigurationError(
        f"promptlib.evals.{name}() was called inside a running event loop (a notebook, an "
        f"async function): use await promptlib.evals.arun(...) there instead"
    )


@contextlib.contextmanager
def _run_lock(store: Store, run_id: str) -> Iterator[None]:
    """One process at a time runs a run: a second is refused, not allowed to send every
    missing request again. The lock is the operating system's, so a killed process
    releases it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    import hashlib

    digest = hashlib.sha256(run_id.encode()).hexdigest()[:16]
    # Beside the store's real file, so a path through a symlink meets the same lock. (Hard
    # links to an SQLite file are unsafe in themselves: each name gets its own journal.)
    real = store.path.resolve()
    path = real.with_name(f"{real.name}.{digest}.lock")
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigurationError(
                f"run {run_id} is being run by another process right now; wait for it to "
                "finish (or stop it) before resuming"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _score_dict(score: Any) -> dict[str, Any]:
    usage = score.usage
    return {
        "value": score.value,
        "passed": score.passed,
        "reason": score.reason,
        "error": score.error,
        "cost": None if score.cost is None else str(score.cost),
        "usage": None if usage is None else [usage.input_tokens, usage.output_tokens],
    }


def _jsonable(output: Any) -> Any:
    dump = getattr(output, "model_dump", None)
    return dump(mode="json") if callable(dump) else output


def _new_run_id(name: str) -> str:
    import uuid

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40]
    return f"{safe}-{stamp}-{uuid.uuid4().hex[:6]}"


def _git_commit() -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _prices(models: set[str], provider_for: ProviderFor) -> dict[str, Any]:
    from promptlib._tokens.catalog import Catalog

    catalog = Catalog.default()
    prices: dict[str, dict[str, Any] | None] = {}
    for model in sorted(models):
        name = model.split(":", 1)[-1]
        try:
            info = catalog.get(name)
        except ConfigurationError:
            prices[model] = None
            continue
        prices[model] = {
            "input": None if info.input is None else str(info.input),
            "output": None if info.output is None else str(info.output),
            "batch_input": None if info.batch_input is None else str(info.batch_input),
            "batch_output": None if info.batch_output is None else str(info.batch_output),
            "source": getattr(info, "source", None),
        }
    return prices


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", RunEstimate, RunResult, arun, estimate, resume, run)
