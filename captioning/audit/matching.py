"""Does a cue's sound description describe a detected event? Meaning, not string equality.

Each side is a few short English texts, embedded with a sentence-embedding model (``models.text_embedding``,
all-MiniLM-L6-v2 by default) into unit vectors; a description and an event match when the best cosine
similarity over the pairs of their texts reaches the threshold (``AuditOptions.match_threshold``):

* an event's texts: its caption ("door slams"), its label's vocabulary wordings (abrupt and sustained), the
  label itself ("weights_drop" -> "weights drop", so "[barbell drops]" meets "weights thud"), the label's
  vocabulary AudioSet classes, and
  its first :data:`EVENT_AUDIOSET_NAMES` AudioSet class names ("Slam", "Door"), so a cue that names the
  sound by a class the tagger ranked second or third still matches;
* a description's texts: the description in lower case ("DOOR BANGS" -> "door bangs"), and, when some of its
  words are glossed in ``captioning/data/cue_lexicon.csv``, the English gloss ("[portazo]" -> "door slams").
  The model is English; the gloss is how "[portazo]" meets a door slam.

Texts are embedded once per call for the whole track and event list (the model keeps what it has seen).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from captioning.audit.cueclass import Lexicon, fold, load_lexicon, words
from captioning.events import SoundEvent
from captioning.vocabulary import Vocabulary

#: An embedding model: texts -> shape=(n, dim) float32 unit vectors.
Embedder = Callable[[Sequence[str]], np.ndarray]

EVENT_AUDIOSET_NAMES = 3
#: Similarity to the nearest vocabulary wording at which capitalised bracket text ("[THUNDERCLAP]") reads as
#: a sound rather than a name (stricter than matching: a name must not pass by chance among ~1600 wordings).
SOUND_LIKE_THRESHOLD = 0.6


class SoundMatcher:
    """Similarity of sound descriptions to events, and of a text to the vocabulary's sounds.

    Parameters:
        embed: the embedding model.
        vocabulary: wordings of the labels.
        lexicon: gloss table; None for the packaged one.
    """

    def __init__(self, embed: Embedder, vocabulary: Vocabulary, lexicon: Lexicon | None = None) -> None:
        self.embed = embed
        self.vocabulary = vocabulary
        self.lexicon = lexicon or load_lexicon()
        self._vocab_vecs: np.ndarray | None = None

    def event_texts(self, event: SoundEvent) -> list[str]:
        """The texts an event is known by (module docstring), lower case, without repeats."""
        texts = [event.caption]
        entry = self.vocabulary.get(event.label)
        if entry is not None:
            texts += [entry.caption_abrupt, entry.caption_sustained, entry.label.replace("_", " ")]
            texts += list(entry.audioset)
        texts += list(event.audioset[:EVENT_AUDIOSET_NAMES])
        found = list(dict.fromkeys(t.lower().strip() for t in texts if t and t.strip()))
        return found or [event.label.replace("_", " ")]

    def description_texts(self, description: str) -> list[str]:
        """The texts a cue's description is read as: itself in lower case, plus its English gloss if any."""
        text = "music" if description.startswith("music:") else description  # lyrics: music is playing
        base = " ".join(text.lower().split()) or "sound"
        glossed = [g for g in (self.lexicon.gloss(fold(w)) for w in words(base)) if g]
        return list(dict.fromkeys([base, " ".join(glossed)] if glossed else [base]))

    def similarity(self, descriptions: Sequence[str], events: Sequence[SoundEvent]) -> np.ndarray:
        """Best cosine similarity of each description to each event.

        Returns:
            shape=(len(descriptions), len(events)) float32 in -1..1.
        """
        d_texts = [self.description_texts(d) for d in descriptions]
        e_texts = [self.event_texts(e) for e in events]
        out = np.full((len(descriptions), len(events)), -1.0, np.float32)
        if not descriptions or not events:
            return out
        vocab = sorted({t for ts in d_texts + e_texts for t in ts})
        index = {t: i for i, t in enumerate(vocab)}
        vecs = self.embed(vocab)  # (n_texts, dim)
        sims = vecs @ vecs.T  # (n_texts, n_texts)
        d_flat = [index[t] for ts in d_texts for t in ts]
        e_flat = [index[t] for ts in e_texts for t in ts]
        d_starts = np.cumsum([0] + [len(ts) for ts in d_texts[:-1]])  # where each description's texts begin
        e_starts = np.cumsum([0] + [len(ts) for ts in e_texts[:-1]])
        pairs = sims[np.ix_(d_flat, e_flat)]  # (n_description_texts, n_event_texts)
        best = np.maximum.reduceat(np.maximum.reduceat(pairs, d_starts, axis=0), e_starts, axis=1)
        out[:] = best  # (n_descriptions, n_events)
        return out

    def _vocabulary_vectors(self) -> np.ndarray:
        if self._vocab_vecs is None:
            texts = sorted({w.lower() for e in self.vocabulary if e.role not in ("dialogue", "ignore")
                            for w in (e.caption_abrupt, e.caption_sustained) if w})
            self._vocab_vecs = self.embed(texts) if texts else np.zeros((0, 1), np.float32)
        return self._vocab_vecs

    def sound_like(self, text: str) -> bool:
        """Whether ``text`` means a sound: its similarity to the nearest vocabulary wording (or its gloss's)
        reaches :data:`SOUND_LIKE_THRESHOLD`."""
        vocab = self._vocabulary_vectors()
        if vocab.shape[0] == 0:
            return False
        vecs = self.embed(self.description_texts(text))  # (n, dim)
        return bool((vecs @ vocab.T).max() >= SOUND_LIKE_THRESHOLD)
