"""The prize quiz (有奖竞猜): question bank, rounds, leaderboard, prize draws and claims.

Small modules with one job each: `bank` (content/quiz/*.toml), `answers` (what a citizen typed →
an answer), `rounds` (a round's life in the DB), `leaderboard`, `draws`, `claims`.
"""
