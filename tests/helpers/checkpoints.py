"""A LoRA checkpoint as swift sft writes one (the adapter and its args.json), without the training."""
import json
from pathlib import Path


def lora_checkpoint(tiny_model_dir, path: Path) -> Path:
    """Random non-zero LoRA (init_lora_weights=False: B is not zero, so the adapter changes answers and merging
    changes weights) on q_proj / v_proj of the tiny model, with an args.json naming the base and the template."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    model = get_peft_model(base, LoraConfig(r=4, target_modules=['q_proj', 'v_proj'], init_lora_weights=False))
    model.save_pretrained(str(path))
    (path / 'args.json').write_text(json.dumps({'model': str(tiny_model_dir), 'template': 'smollm2'}))
    return path
