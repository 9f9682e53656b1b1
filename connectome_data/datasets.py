"""The shipped connectome datasets: names, sources and the cect readers that regenerate them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    """A shipped dataset: its name, the cect reader that regenerates it, and its citation."""

    name: str
    reader: str  # module under cect.readers
    citation: str
    description: str
    stage: str = "adult"
    whole_animal: bool = True  # False when only part of the nervous system was reconstructed


_COOK = "Cook et al. 2019, Nature 571:63-71, Supplementary Information 5 (corrected July 2020)"
_WITVLIET = "Witvliet et al. 2021, Nature 596:257-261, Supplementary Table (dataset {i})"
_WITVLIET_STAGES = {1: "L1", 2: "L1", 3: "L1", 4: "L1", 5: "L2", 6: "L3", 7: "adult", 8: "adult"}

DATASETS: dict[str, DatasetInfo] = {
    "cook2019_herm": DatasetInfo(
        "cook2019_herm", "Cook2019HermReader", _COOK,
        "Whole-animal hermaphrodite connectome: chemical synapses, gap junctions, neuron->muscle",
    ),
    **{
        f"witvliet2021_{i}": DatasetInfo(
            f"witvliet2021_{i}", f"WitvlietDataReader{i}", _WITVLIET.format(i=i),
            f"Nerve-ring connectome of animal {i} ({stage}); neurons outside the nerve ring and "
            "ventral cord are not reconstructed",
            stage=stage, whole_animal=False,
        )
        for i, stage in _WITVLIET_STAGES.items()
    },
    "varshney2011": DatasetInfo(
        "varshney2011", "VarshneyDataReader",
        "Varshney et al. 2011, PLoS Comput Biol 7:e1001066 (NeuronConnect.xls)",
        "Hermaphrodite somatic nervous system (279 neurons reconstructed, no pharynx); "
        "neuron->muscle not included in this source",
        whole_animal=False,
    ),
    "white1986_whole": DatasetInfo(
        "white1986_whole", "White_whole",
        "White et al. 1986, Phil Trans R Soc B 314:1-340, as curated by Cook et al. 2019 "
        "(aconnectome_white_1986_whole.csv)",
        "The original 'mind of a worm' reconstruction (composite of several animals); "
        "neuron->muscle synapses given to unspecified body-wall muscles",
    ),
    "white1986_n2u": DatasetInfo(
        "white1986_n2u", "White_A",
        "White et al. 1986, animal N2U, as curated by Cook et al. 2019 "
        "(aconnectome_white_1986_A.csv)",
        "Single-animal (N2U, adult) reconstruction from White et al. 1986",
        whole_animal=False,
    ),
    "white1986_jsh": DatasetInfo(
        "white1986_jsh", "White_L4",
        "White et al. 1986, animal JSH (L4), as curated by Cook et al. 2019 "
        "(aconnectome_white_1986_L4.csv)",
        "Single-animal (JSH, L4) reconstruction from White et al. 1986",
        stage="L4", whole_animal=False,
    ),
}

ALIASES: dict[str, str] = {
    "cook2019": "cook2019_herm",
    "witvliet2021": "witvliet2021_8",
    "witvliet2021_adult": "witvliet2021_8",
    "white1986": "white1986_whole",
}

DEFAULT_DATASET = "cook2019_herm"


def resolve_name(name: str) -> str:
    """Canonical dataset name for ``name`` (aliases allowed); KeyError lists the choices."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in DATASETS:
        choices = ", ".join(list(DATASETS) + list(ALIASES))
        raise KeyError(f"unknown dataset {name!r}; expected one of: {choices} "
                       f"(or 'cect:<ReaderName>' when cect is installed)")
    return key
