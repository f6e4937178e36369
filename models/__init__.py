"""The transformer models' own code (``bert``), where their files come from (``model_files``) and their tuned profiles."""
