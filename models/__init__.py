"""The transformer models' own code (``bert``), loading a QA model (``qa_model``), where their files come from (``model_files``) and their tuned profiles."""
