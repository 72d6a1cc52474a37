// An empty module: llm-opt's usage tests need a valid input.
