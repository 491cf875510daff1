"""The jobs: each videoInference task as a state machine (``store``: progression, result release,
outcome, expiry) and every task as submitted with the reply last given for it (``task_details``,
what getTaskDetails answers)."""
