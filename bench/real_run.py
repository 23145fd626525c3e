"""Running the real recognizer path over real receipt samples: engines, worker processes, OCR dump and replay.

Each image goes through `LocalRecognizer.recognize` then `Enricher.enrich`, timed as process
CPU and wall time inside the process that runs it (models are loaded and warmed up first, so
one image's CPU is OCR + parsing + enrichment only). With several workers, each is its own
process holding its own recognizers; a worker runs one image at a time.

OCR engines are chosen with `LocalRecognizer(ocr=NAME)`; a build whose recognizer has no `ocr`
keyword offers only its default engine, today's RapidOCR, labelled `rapidocr`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.recognition.base import ImageRecognition, JobImage, JobType
from app.recognition.enrich import Enricher
from app.recognition.layout import OcrBox
from app.recognition.local import LocalRecognizer, read_receipt
from bench.real_scoring import Prediction
from bench.real_sets import Sample

TODAY = "rapidocr"  # the engine of the build before the OCR bake-off


@dataclass(frozen=True, slots=True)
class Job:
    """One image to read with one engine."""

    sample: Sample
    engine: str


@dataclass(slots=True)
class Outcome:
    """What one engine answered for one image, and what it cost (None when not measured)."""

    sample: Sample
    engine: str
    prediction: Prediction
    cpu: float | None = None
    wall: float | None = None
    error: str | None = None


def cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its waited-for children, for engines that fork."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _parameters() -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(LocalRecognizer).parameters)


def engine_choice() -> bool:
    """Whether this build's LocalRecognizer takes an `ocr` engine name."""
    return "ocr" in _parameters()


def default_engines() -> list[str]:
    """The recognizer's default engine, plus today's engine when the default is another one."""
    if not engine_choice():
        return [TODAY]
    default = str(_parameters()["ocr"].default)
    return [default] if default == TODAY else [default, TODAY]


def usable_engine(engine: str) -> bool:
    """Whether `make_recognizer` can build this engine in this build."""
    return engine_choice() or engine == TODAY


def make_recognizer(engine: str, **options: Any) -> LocalRecognizer:
    """A LocalRecognizer reading with `engine`; options it does not take are dropped."""
    params = _parameters()
    kwargs = {key: value for key, value in options.items() if key in params}
    if "ocr" in params:
        kwargs["ocr"] = engine
    elif engine != TODAY:
        raise ValueError(f"engine {engine!r}: this build's LocalRecognizer has no `ocr` keyword")
    return LocalRecognizer(**kwargs)


def to_prediction(recognition: ImageRecognition) -> Prediction:
    """Header fields and the raw items' (name, price): prices per printed line, as the truth has them."""
    header = recognition.header
    items = [(raw.raw_text, raw.price) for raw in recognition.items]
    if header is None:
        return Prediction(items=items)
    return Prediction(header.merchant, header.purchased_at, header.currency, header.total, items)


def boxes_json(boxes: Sequence[OcrBox], cpu: float | None) -> str:
    """The OCR cache format: {"cpu_s": ..., "boxes": [[[[x, y] * 4], text, score], ...]}."""
    rows = [[[list(point) for point in box.points], box.text, box.score] for box in boxes]
    return json.dumps({"cpu_s": cpu, "boxes": rows}, ensure_ascii=False)


def read_boxes(path: Path) -> list[OcrBox]:
    """OCR boxes from a cache file written by `boxes_json` (or the shared OCR cache)."""
    boxes = []
    for corners, text, score in json.loads(path.read_text())["boxes"]:
        points = tuple((float(x), float(y)) for x, y in corners)
        if len(points) == 4 and str(text).strip():
            boxes.append(OcrBox(points, str(text), float(score)))  # type: ignore[arg-type]
    return boxes


class Worker:
    """Recognizers for every engine, loaded and warmed up once, reading one image at a time."""

    def __init__(self, engines: Sequence[str], options: dict[str, Any], dump: Path | None,
                 langs: Sequence[str] = ("en",)) -> None:
        self.loop = asyncio.new_event_loop()
        self.enricher = Enricher()
        self.dump = dump
        self.recognizers = {engine: make_recognizer(engine, **options) for engine in engines}
        self._captured: list[list[OcrBox]] = []
        for recognizer in self.recognizers.values():
            self._record_ocr(recognizer)
            for lang in langs:  # an engine may load a model per language on first use
                self.loop.run_until_complete(self._read(recognizer, _warm_up_image(), lang))

    def _record_ocr(self, recognizer: LocalRecognizer) -> None:
        """Keep the boxes of each read of the recognizer's OCR engine, for --dump-ocr (outside the timed work)."""
        if self.dump is None:
            return
        engine = recognizer.engine()
        original = engine.read

        def recording(*args: Any, **kwargs: Any) -> list[OcrBox]:
            boxes: list[OcrBox] = original(*args, **kwargs)
            self._captured.append(boxes)
            return boxes

        engine.read = recording  # type: ignore[method-assign]

    async def _read(self, recognizer: LocalRecognizer, data: bytes, lang: str) -> ImageRecognition:
        recognition = await recognizer.recognize(JobImage(0, data, "image/jpeg"), job_type=JobType.RECEIPT,
                                                 lang=lang)
        self.enricher.enrich([(0, raw) for raw in recognition.items], lang=lang)
        return recognition

    def run(self, job: Job) -> Outcome:
        """Read and time one image; a recognition failure is recorded, not raised."""
        data = job.sample.path.read_bytes()
        self._captured.clear()
        cpu, wall = cpu_seconds(), time.perf_counter()
        try:
            recognition = self.loop.run_until_complete(self._read(self.recognizers[job.engine], data,
                                                                  job.sample.lang))
        except Exception as exc:  # RecognitionError or a crash: recorded, the run goes on
            return Outcome(job.sample, job.engine, Prediction(), error=f"{type(exc).__name__}: {exc}")
        outcome = Outcome(job.sample, job.engine, to_prediction(recognition),
                          cpu_seconds() - cpu, time.perf_counter() - wall)
        if self.dump is not None and self._captured:
            path = self.dump / job.engine / job.sample.set_name / f"{job.sample.stem}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(boxes_json(self._captured[-1], outcome.cpu))
        return outcome

    def close(self) -> None:
        """Stop every recognizer's pool and the event loop."""
        for recognizer in self.recognizers.values():
            self.loop.run_until_complete(recognizer.aclose())
        self.loop.close()


def _warm_up_image() -> bytes:
    from bench.corpus import generate

    return generate(0)[0]


_WORKER: Worker | None = None


def _start_worker(engines: Sequence[str], options: dict[str, Any], dump: Path | None, langs: Sequence[str]) -> None:
    global _WORKER
    _WORKER = Worker(engines, options, dump, langs)


def _run_in_worker(job: Job) -> Outcome:
    assert _WORKER is not None
    return _WORKER.run(job)


def run_jobs(jobs: Sequence[Job], engines: Sequence[str], *, options: dict[str, Any], dump: Path | None,
             workers: int) -> Iterator[Outcome]:
    """Outcomes in job order; `workers` > 1 runs them in that many spawned processes."""
    langs = list(dict.fromkeys(job.sample.lang for job in jobs))
    if workers <= 1:
        worker = Worker(engines, options, dump, langs)
        try:
            yield from map(worker.run, jobs)
        finally:
            worker.close()
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                             initargs=(list(engines), options, dump, langs)) as pool:
        yield from pool.map(_run_in_worker, jobs, chunksize=1)


def replay(samples: Sequence[Sample], cache: Path, engine: str) -> Iterator[Outcome]:
    """Parsing and enrichment only, on cached OCR boxes (`cache/<set>/<stem>.json`); no CPU measured."""
    enricher = Enricher()
    missing = 0
    for sample in samples:
        path = cache / sample.set_name / f"{sample.stem}.json"
        if not path.exists():
            missing += 1
            continue
        recognition = read_receipt(read_boxes(path), sample.lang)
        enricher.enrich([(0, raw) for raw in recognition.items], lang=sample.lang)
        yield Outcome(sample, engine, to_prediction(recognition))
    if missing:
        print(f"replay: {missing} image(s) have no OCR cache file under {cache}; left out", file=sys.stderr)
