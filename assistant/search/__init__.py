"""An index to answers: a question understood once, ranked passages, abstention, the across-reports themes, evaluation."""
