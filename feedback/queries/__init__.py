"""Read side: named functions returning rows or dicts; aggregates are GROUP BY in SQL."""
