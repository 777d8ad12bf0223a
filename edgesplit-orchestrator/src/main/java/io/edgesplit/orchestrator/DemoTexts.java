package io.edgesplit.orchestrator;

import java.util.List;

/** What the demo's clients send: paragraphs an edge site might embed (written for EdgeSplit) and story prompts. */
public final class DemoTexts {
    private DemoTexts() {}

    public static final List<String> PROMPTS = List.of("Once upon a time", "Lily and her dog", "The little boat", "One day, Tom");

    private static final List<String> PARAGRAPHS = List.of(
            "Camera four at the north gate reports a delivery truck parked across the cycle lane since half past seven. "
                    + "The driver left the engine running and walked into the bakery on the corner. Two cyclists swerved "
                    + "into traffic to pass it, and a bus waiting behind had to stop for almost a minute before the lane "
                    + "cleared again. No one was hurt, but the same truck was seen there yesterday at the same time.",
            "The conveyor on line two slowed down after the morning shift change. The vibration sensor on the third "
                    + "roller shows a rising peak near one hundred and twenty hertz, which in the past came before a bearing "
                    + "failure within a week. Maintenance has a spare bearing in stock and could replace it during the "
                    + "lunch break, when the line is stopped anyway for cleaning.",
            "A passenger on the evening tram asked whether the connection to the airport train would still be reached. "
                    + "The tram was running six minutes late because of roadworks near the river bridge. The driver called "
                    + "the control room, which asked the airport train to wait two minutes at the central station, and "
                    + "the passenger made the connection with time to spare.",
            "Heavy rain is expected after midnight, with up to forty millimetres in three hours over the eastern "
                    + "districts. The drains under the underpass on Harbour Street flooded twice last autumn. The city "
                    + "asks residents to move cars parked in the low streets near the canal and will close the underpass "
                    + "if the water level sensor there passes the warning mark.",
            "The school crossing guard noticed that the pedestrian light on Elm Avenue turns red before slower children "
                    + "have reached the other side. She timed it over a week: the green phase lasts eleven seconds, while "
                    + "a group of young pupils needs about sixteen. The traffic office agreed to lengthen the phase during "
                    + "school hours and to review the other crossings near schools.",
            "A refrigerated van reported its cargo temperature climbing from three to nine degrees during a long stop "
                    + "at the border. The cooling unit restarted on its own after twenty minutes. The dairy that receives "
                    + "the load will test samples on arrival, and the fleet manager wants an alert when the temperature "
                    + "rises for more than five minutes in a row.");

    public static List<String> paragraphs() {
        return PARAGRAPHS;
    }
}
