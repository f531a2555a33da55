"""Training data importer that knows retrieval intents when it reads stories.

Rasa adds retrieval intents such as `faq` to the domain from the NLU data. Listing `faq` in
domain.yml as well makes Rasa warn about a duplicate intent when it merges the two, while not
listing it makes the story reader warn that rules use an intent the domain lacks. This importer
reads stories and conversation tests with the retrieval intents added, so neither warning is
needed and `rasa data validate --fail-on-warnings` stays meaningful.
"""

from __future__ import annotations

from typing import Optional

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers import utils
from rasa.shared.importers.rasa import RasaFileImporter


class RetrievalAwareImporter(RasaFileImporter):
    """`RasaFileImporter` whose stories see the retrieval intents of the NLU data."""

    def _story_domain(self) -> Domain:
        domain = self.get_domain()
        missing = self.get_nlu_data().retrieval_intents - set(domain.intents)
        if not missing:
            return domain
        return domain.merge(Domain.from_dict({"intents": sorted(missing)}))

    def get_stories(self, exclusion_percentage: Optional[int] = None) -> StoryGraph:
        """Reads stories and rules (see `RasaFileImporter.get_stories`)."""
        return utils.story_graph_from_paths(
            self._story_files, self._story_domain(), exclusion_percentage
        )

    def get_conversation_tests(self) -> StoryGraph:
        """Reads conversation tests (see `RasaFileImporter.get_conversation_tests`)."""
        return utils.story_graph_from_paths(self._conversation_test_files, self._story_domain())
