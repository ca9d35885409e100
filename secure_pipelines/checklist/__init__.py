"""The setup checklist (``securepipe checklist``): every step Pulumi cannot take, per organisation, CI
system, repository and environment, in the order to take it, each with the exact values to enter,
where, and how to check it.

``steps`` holds the model every part speaks; ``core`` the core's own parts (plain functions, one per
concern); each CI system adds its steps through its ``SetupSteps`` capability; ``build`` puts them in
order; ``formats`` writes Markdown for people and JSON for tools.
"""
