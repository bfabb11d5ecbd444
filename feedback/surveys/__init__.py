"""What a survey is, apart from any page: the built-in surveys (definitions), which question is
asked of whom (rules) and how answers become figures (scoring). Views, queries and services all
import it; it imports nothing of theirs."""
