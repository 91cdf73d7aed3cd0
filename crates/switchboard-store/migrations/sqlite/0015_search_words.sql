-- The vocabulary of every stored message (words of 3 to 30 characters): a search word it does
-- not have is a typo, corrected to the closest word it has. Filled as messages are stored.
CREATE TABLE search_words (word TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE temp.messages_fts_terms USING fts5vocab(main, messages_fts, row);
INSERT OR IGNORE INTO search_words (word)
    SELECT term FROM temp.messages_fts_terms
    WHERE length(term) BETWEEN 3 AND 30 AND term GLOB '*[^0-9]*';
DROP TABLE temp.messages_fts_terms;
