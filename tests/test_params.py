import copy

import pytest
import yaml

from fakes import REPO
from imgclf.errors import ParamsError
from imgclf.models.registry import MODELS
from imgclf.params import default_params_dict, load_params, parse_params, read_tree
from imgclf.params_layout import merged_tree, split


@pytest.fixture
def raw():
    """params.yaml with each model's section made from its recipes/<model>.yaml over the shared recipe."""
    files = read_tree(REPO / "params.yaml")
    return merged_tree(*files, {name: spec.params for name, spec in MODELS.items()})


def test_params_yaml_and_the_recipe_files_hold_every_knob_at_its_default(raw):
    assert raw == default_params_dict()


def test_each_recipe_file_lists_its_own_knobs_and_what_it_changes_nothing_more():
    """The shared recipe is written once: a file repeating one of its values would hide a change to it."""
    params, files = split(default_params_dict(), {name: spec.params for name, spec in MODELS.items()})
    on_disk = read_tree(REPO / "params.yaml")
    assert on_disk == (params, files)
    assert "epochs" not in files["resnext"] and files["head"]["optimizer"] == "adam"


def test_a_bad_value_in_a_models_file_is_named_with_its_file_and_key(tmp_path):
    import shutil

    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    path = tmp_path / "recipes" / "resnext.yaml"
    path.write_text(path.read_text().replace("depth: 11", "depth: 12"))
    with pytest.raises(ParamsError, match=r"recipes/resnext\.yaml: depth must be 9n\+2"):
        load_params(tmp_path / "params.yaml")
    path.write_text(path.read_text().replace("depth: 12", "depth: 11") + "deepth: 3\n")
    with pytest.raises(ParamsError, match=r"recipes/resnext\.yaml: unknown key 'deepth'; allowed keys under the top"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "recipes" / "head.yaml").unlink()
    path.write_text(path.read_text().replace("deepth: 3\n", ""))
    with pytest.raises(ParamsError, match=r"recipes/head\.yaml: missing key 'hidden_units'"):
        load_params(tmp_path / "params.yaml")


def test_default_params_load():
    params = load_params(REPO / "params.yaml")
    assert params.data.dataset == "digits"
    assert params.features.weights == "none"
    assert params.model_recipe is params.models.head


@pytest.mark.parametrize(
    "path, value, message",
    [
        (
            ("data", "dataset"),
            "cifar",
            r"data\.dataset must be one of 'digits', 'cifar10', 'cifar100', 'folder'; got 'cifar'",
        ),
        (("model",), "vgg", r"model must be one of .*'head'.*; got 'vgg'"),
        (("data", "val_fraction"), 1.5, r"data\.val_fraction must be a number in \(0, 1\); got 1\.5"),
        (("data", "image_size"), "32", r"data\.image_size must be an integer in \[8, 1024\]; got '32'"),
        (("data", "image_size"), True, r"data\.image_size must be an integer .*; got True"),
        (("data", "limit_per_class"), 0, r"data\.limit_per_class must be null or an integer in \[1, inf\]; got 0"),
        (
            ("models", "head", "hidden_units"),
            [64, -1],
            r"models\.head\.hidden_units must be a list, each item an integer",
        ),
        (("models", "head", "optimizer"), "rmsprop", r"models\.head\.optimizer must be one of 'sgd', 'adam', 'adamw'"),
        (("features", "backbone"), "resnet51", r"features\.backbone must be one of .*resnet50.*; got 'resnet51'"),
        (("seed",), 1.0, r"seed must be an integer"),
        (("evaluate", "gallery_size"), 0, r"evaluate\.gallery_size must be an integer in \[1, inf\]; got 0"),
        (("evaluate", "tta"), "mirror", r"evaluate\.tta must be one of 'none', 'flip', 'flip_translate'; got 'mirror'"),
        (("models", "head", "class_weight"), "auto", r"models\.head\.class_weight must be one of 'none', 'balanced'"),
        (("models", "linear_probe", "class_weight"), "x", r"models\.linear_probe\.class_weight must be one of"),
        (("features", "views"), 0, r"features\.views must be an integer in \[1, 32\]; got 0"),
        (("models", "resnext", "sam_rho"), 5, r"models\.resnext\.sam_rho must be a number in \[0, 1\]; got 5"),
        (
            ("models", "airbench", "augment", "mixup_alpha"),
            1e9,
            r"models\.airbench\.augment\.mixup_alpha must be a number in \[0, 10\]; got 1000000000\.0",
        ),
    ],
)
def test_bad_value_names_key_allowed_values_and_value(raw, path, value, message):
    broken = copy.deepcopy(raw)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ParamsError, match=message):
        parse_params(broken)


@pytest.mark.parametrize("value", ["auto", True, False])
def test_jit_compile_accepts_auto_and_yaml_booleans(raw, value):
    raw["train"]["jit_compile"] = value
    assert parse_params(raw).train.jit_compile == value


def test_jit_compile_refuses_other_values(raw):
    raw["train"]["jit_compile"] = "yes"
    with pytest.raises(ParamsError, match=r"train\.jit_compile must be 'auto', true or false; got 'yes'"):
        parse_params(raw)


def test_a_warmup_as_long_as_the_run_is_accepted(raw):
    raw["models"]["mobilenet_v1"]["epochs"] = 1  # a one-epoch smoke run; training scales the warmup down
    assert parse_params(raw).models.mobilenet_v1.warmup_epochs == 1.0


def test_unknown_key_lists_allowed_keys(raw):
    raw["data"]["datset"] = "digits"
    with pytest.raises(ParamsError, match=r"unknown key 'data\.datset'; allowed keys under data: dataset, url"):
        parse_params(raw)


def test_unknown_top_level_key(raw):
    raw["epochs"] = 3
    with pytest.raises(ParamsError, match=r"unknown key 'epochs'; allowed keys under the top level: seed, data"):
        parse_params(raw)


def test_missing_key_is_reported(raw):
    del raw["features"]["alpha"]
    with pytest.raises(ParamsError, match=r"missing key 'features\.alpha'"):
        parse_params(raw)


def test_section_must_be_a_mapping(raw):
    raw["features"] = "resnet50"
    with pytest.raises(ParamsError, match="features must be a mapping"):
        parse_params(raw)


def test_folder_needs_a_path(raw):
    raw["data"]["dataset"] = "folder"
    with pytest.raises(ParamsError, match=r"data\.path must name a directory or archive"):
        parse_params(raw)


def test_coarse_labels_only_for_cifar100(raw):
    raw["data"]["label_mode"] = "coarse"
    with pytest.raises(ParamsError, match=r"'coarse' exists only for data\.dataset 'cifar100'"):
        parse_params(raw)
    raw["data"]["dataset"] = "cifar100"
    assert parse_params(raw).data.label_mode == "coarse"


def test_md5_and_url_are_checked(raw):
    raw["data"]["md5"] = "xyz"
    with pytest.raises(ParamsError, match=r"data\.md5 must be 32 hex digits"):
        parse_params(raw)
    raw["data"]["md5"] = ""
    raw["data"]["url"] = "ftp://example.org/x.tar.gz"
    with pytest.raises(ParamsError, match=r"data\.url must start with http://, https:// or file://"):
        parse_params(raw)


def test_ints_are_accepted_where_floats_are_expected(raw):
    raw["models"]["head"]["learning_rate"] = 1
    assert parse_params(raw).models.head.learning_rate == 1.0


def test_invalid_yaml_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_a_small_number_as_dvc_writes_it_is_a_number(tmp_path):
    """`dvc exp run -S recipes/finetune.yaml:learning_rate=0.00001` writes `1e-05`; PyYAML alone reads a string."""
    import shutil

    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    finetune, head = tmp_path / "recipes" / "finetune.yaml", tmp_path / "recipes" / "head.yaml"
    finetune.write_text(finetune.read_text().replace("learning_rate: auto", "learning_rate: 1e-05"))
    head.write_text(head.read_text().replace("weight_decay: 0.0001", "weight_decay: 5e-5", 1))
    assert isinstance(yaml.safe_load(finetune.read_text())["learning_rate"], str)
    params = load_params(tmp_path / "params.yaml")
    assert params.models.finetune.learning_rate == 1e-05 and params.models.head.weight_decay == 5e-05


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {
                "model": "finetune",
                "features.backbone": "mobilenet",
                "features.alpha": 0.25,
                "models.finetune.fine_tune_at": 143,
            },
            r"models\.finetune\.fine_tune_at must be below the 87 layers of features\.backbone 'mobilenet' \(or 'auto'\); got 143",
        ),
        (
            {"features.backbone": "mobilenet", "features.weights": "imagenet", "features.alpha": 0.3},
            r"features\.alpha must be one of 0\.25, 0\.5, 0\.75, 1 for ImageNet mobilenet weights; got 0\.3",
        ),
        ({"features.alpha": 0.5}, r"features\.alpha applies to MobileNet backbones only; got 0\.5 for 'resnet50'"),
        (
            {"train.backend": "torch", "model": "resnext", "models.resnext.sam_rho": 0.05},
            r"models\.resnext\.sam_rho > 0 needs the tensorflow or jax Keras backend",
        ),
        (
            {"train.backend": "torch", "model": "finetune", "models.finetune.head.sam_rho": 0.05},
            r"models\.finetune\.head\.sam_rho > 0 needs the tensorflow or jax Keras backend",
        ),
        (
            {"train.backend": "torch", "train.distribution": "data_parallel"},
            r"train\.distribution 'data_parallel' needs",
        ),
        (
            {"model": "head", "evaluate.tta": "flip_translate"},
            r"evaluate\.tta 'flip_translate' needs a model of pictures \(airbench, .*\); model 'head' takes the cached",
        ),
    ],
)
def test_rules_across_sections_fail_before_any_stage_runs(raw, monkeypatch, changes, message):
    """Each used to fail only in featurize or train, after fetch and split had run."""
    import importlib.util

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "torch" else real(name, *a))
    for dotted, value in changes.items():
        target = raw
        *path, last = dotted.split(".")
        for key in path:
            target = target[key]
        target[last] = value
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)


def test_fine_tune_at_auto_depends_on_the_backbone():
    from imgclf.features.catalog import BACKBONES

    assert BACKBONES["resnet50"].default_fine_tune_at() == 143  # conv5, the documented ResNet50 recipe
    assert BACKBONES["mobilenet"].default_fine_tune_at() == 0  # the whole network: measured best on CIFAR-10
    assert BACKBONES["vgg16"].default_fine_tune_at() == 13  # the last third of 20 layers (an estimate)
