from dataclasses import dataclass, field
from typing import Optional


@dataclass
class ModelArguments:
    model: Optional[str] = field(
        default=None, metadata={'help': 'registry ID or alias, hub ID, or local directory'})
    model_type: Optional[str] = field(default=None, metadata={'help': 'registry model type (when auto-detection fails)'})
    revision: Optional[str] = field(default=None, metadata={'help': 'hub revision (branch, tag or commit)'})
    torch_dtype: str = field(default='auto', metadata={'help': 'auto | bfloat16 | float16 | float32'})
    attn_impl: Optional[str] = field(default=None, metadata={'help': 'sdpa | eager | flash_attention_2'})
    use_hf: bool = field(default=False, metadata={'help': 'download from Hugging Face instead of ModelScope'})
    offline: bool = field(default=False, metadata={'help': 'never contact a hub; use local copies only'})

    ALIASES = {'model_id_or_path': 'model', 'model_revision': 'revision', 'dtype': 'torch_dtype'}

    def model_kwargs(self) -> dict:
        """Keywords for swift.model.loader.get_model_tokenizer."""
        return dict(torch_dtype=self.torch_dtype, attn_implementation=self.attn_impl, model_type=self.model_type,
                    use_hf=self.use_hf or None, revision=self.revision, offline=self.offline or None)
